"""House style, checked on every source file of the repository (docs/style.md).

Rules 7 and 9 of docs/style.md, as CI sees them: C++ is clang-format clean (the repository's
.clang-format, Google style at 100 columns), shell scripts pass shellcheck at severity warning,
every C++ header opens with a comment that says what it is for, and no source file grows past
MAX_LINES ("about 600 lines at most": a file over 600 is due for a split, one over MAX_LINES
fails). provisioning/install-deps.sh installs clang-format and shellcheck.

The files: everything under the source roots below, except build trees, bench/results/
(recorded experiments, kept as they ran) and Python's caches. A failure names every file and
what to run to fix it.
"""

import os
import shutil
import subprocess
import unittest

TOP = os.path.abspath(os.environ.get("ONIONMAIL_SOURCE_DIR",
                                     os.path.join(os.path.dirname(__file__), "..", "..")))
ROOTS = ("src", "hsm", "seccomp", "tests", "bench", "provisioning", "cmake", ".ci")
SKIP_DIRS = {"results", "__pycache__", ".git"}
CPP = (".cc", ".h")
MAX_LINES = 620


def source_files(suffixes):
    """Paths relative to TOP of the files under ROOTS whose names end with one of suffixes."""
    found = []
    for root in ROOTS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(TOP, root)):
            rel_dir = os.path.relpath(dirpath, TOP)
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIP_DIRS and not d.startswith("build")
                                 and not (rel_dir == "bench" and d == "results"))
            for name in sorted(filenames):
                if suffixes is None or name.endswith(suffixes):
                    found.append(os.path.relpath(os.path.join(dirpath, name), TOP))
    return found


def shell_scripts():
    scripts = []
    for path in source_files(None):
        if path.endswith(".sh"):
            scripts.append(path)
            continue
        with open(os.path.join(TOP, path), "rb") as f:
            first = f.readline()
        if first.startswith(b"#!") and (b"bash" in first or first.rstrip().endswith(b"/sh")):
            scripts.append(path)
    return scripts


def tool(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


class StyleTest(unittest.TestCase):
    def test_sources_were_found(self):
        # Guards the other tests against passing on an empty file list.
        self.assertGreater(len(source_files(CPP)), 200)
        self.assertIn("provisioning/test.sh", shell_scripts())
        self.assertIn(".ci/run", shell_scripts())

    def test_cpp_files_are_clang_format_clean(self):
        clang_format = tool("clang-format-14", "clang-format")
        self.assertIsNotNone(clang_format, "clang-format is missing: provisioning/install-deps.sh")
        files = source_files(CPP)
        unclean = []
        for i in range(0, len(files), 50):
            batch = files[i:i + 50]
            result = subprocess.run([clang_format, "--dry-run", "-Werror", *batch], cwd=TOP,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                unclean += [f for f in batch if f + ":" in result.stderr]
                self.assertTrue(unclean, result.stderr[-2000:])
        self.assertEqual(unclean, [], f"not clang-format clean; fix with: cd {TOP} && "
                         f"{os.path.basename(clang_format)} -i " + " ".join(unclean))

    def test_shell_scripts_pass_shellcheck(self):
        shellcheck = tool("shellcheck")
        self.assertIsNotNone(shellcheck, "shellcheck is missing: provisioning/install-deps.sh")
        scripts = shell_scripts()
        result = subprocess.run([shellcheck, "-S", "warning", "-x", *scripts], cwd=TOP,
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout[-4000:] + result.stderr[-1000:])

    def test_headers_open_with_their_purpose(self):
        silent = []
        for path in source_files((".h",)):
            with open(os.path.join(TOP, path), encoding="utf-8") as f:
                first = next((line.strip() for line in f if line.strip()), "")
            if not first.startswith(("//", "/*")):
                silent.append(path)
        self.assertEqual(silent, [], "headers that do not open with a comment on their purpose")

    def test_source_files_stay_small(self):
        big = []
        for path in source_files(CPP + (".py", ".sh", ".txt", ".cmake")):
            with open(os.path.join(TOP, path), "rb") as f:
                lines = sum(1 for _ in f)
            if lines > MAX_LINES:
                big.append(f"{path}: {lines} lines")
        self.assertEqual(big, [], f"files over {MAX_LINES} lines: split them (docs/style.md, 7)")


if __name__ == "__main__":
    unittest.main()
