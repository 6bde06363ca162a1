# onionmail_assert_no_hardware(TARGET): fails the configure step when TARGET
# links, directly or through any dependency, the hardware key-store backends
# (om_hsm_pkcs11, om_hsm_tpm2) or their libraries (p11-kit, tss2). House rule:
# only the key role links tss2 and p11-kit; network-facing code must not.
function(onionmail_assert_no_hardware target)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue t)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" t "${t}")
    if(t IN_LIST seen OR NOT TARGET ${t})
      continue()
    endif()
    list(APPEND seen ${t})
    if(t MATCHES "^(om_hsm_pkcs11|om_hsm_tpm2|PkgConfig::P11KIT|PkgConfig::TSS2.*)$")
      message(FATAL_ERROR "${target} must not link the hardware key store (reaches ${t}); "
                          "only the key role may (docs/architecture.md)")
    endif()
    get_target_property(libs ${t} LINK_LIBRARIES)
    get_target_property(ilibs ${t} INTERFACE_LINK_LIBRARIES)
    foreach(l IN LISTS libs ilibs)
      if(l AND NOT l MATCHES "-NOTFOUND$")
        list(APPEND queue ${l})
      endif()
    endforeach()
  endwhile()
endfunction()
