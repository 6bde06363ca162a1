# What `cmake --install BUILD [--prefix P]` puts where (provisioning/install.sh runs it; default
# prefix /usr/local):
#   bin/                      onionmaild and its five role programs side by side (it runs them
#                             from its own directory), and onionmailctl
#   lib/systemd/system/       onionmaild.service, its ExecStart= pointing at this bin/
#   share/doc/onionmaild/     README.md, SECURITY.md and docs/ (the unit's Documentation=)
# The test programs and the benchmark are not installed.
include(GNUInstallDirs)
install(TARGETS onionmaild onionmail-key onionmail-smtp onionmail-pop3 onionmail-peer onionmail-relay
                onionmailctl
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES README.md SECURITY.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
# The unit names the installed paths, which are known only at install time (--prefix).
install(CODE "set(onionmail_unit_source \"${CMAKE_SOURCE_DIR}/provisioning/systemd/onionmaild.service\")
set(onionmail_bindir \"${CMAKE_INSTALL_BINDIR}\")
set(onionmail_docdir \"${CMAKE_INSTALL_DOCDIR}\")")
install(CODE [[
  file(READ "${onionmail_unit_source}" unit)
  string(REPLACE "/usr/local/bin/onionmaild" "${CMAKE_INSTALL_PREFIX}/${onionmail_bindir}/onionmaild"
         unit "${unit}")
  string(REPLACE "file:/usr/share/doc/onionmaild/" "file:${CMAKE_INSTALL_PREFIX}/${onionmail_docdir}/"
         unit "${unit}")
  set(unit_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  file(MAKE_DIRECTORY "${unit_dir}")
  file(WRITE "${unit_dir}/onionmaild.service" "${unit}")
  message(STATUS "Installing: ${unit_dir}/onionmaild.service")
]])
