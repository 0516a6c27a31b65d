"""attnsel's Python package: setuptools builds the extension with the project's CMake (target
_attnsel, which links attnsel::compiled) and packs python/attnsel with it; pyproject.toml holds
the metadata. The version is the C++ library's (include/attnsel/version.hpp).

The CMake build folder is build-python/ in the checkout (kept: a second install rebuilds only what
changed); ATTNSEL_BUILD_DIR=DIR uses another, configured or not (e.g. the test build);
CMAKE_BUILD_PARALLEL_LEVEL as for cmake --build."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def version():
    text = (ROOT / "include" / "attnsel" / "version.hpp").read_text()
    parts = [re.search(r"#define ATTNSEL_VERSION_{} (\d+)".format(p), text) for p in ("MAJOR", "MINOR", "PATCH")]
    if not all(parts):
        raise RuntimeError("setup.py: no ATTNSEL_VERSION_MAJOR/MINOR/PATCH in include/attnsel/version.hpp")
    return ".".join(m.group(1) for m in parts)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        target = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        build = pathlib.Path(os.environ.get("ATTNSEL_BUILD_DIR") or (ROOT / "build-python")).resolve()
        if not (build / "CMakeCache.txt").exists():
            subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                                   "-DATTNSEL_BUILD_PYTHON=ON", "-DATTNSEL_BUILD_TESTS=OFF", "-DATTNSEL_BUILD_EXAMPLES=OFF",
                                   "-DATTNSEL_BUILD_BENCHMARKS=OFF", "-DATTNSEL_INSTALL=OFF",
                                   "-DPython_EXECUTABLE=" + sys.executable])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 2)
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_attnsel", "-j", jobs])
        built = sorted((build / "python" / "attnsel").glob("_attnsel*.so"))
        if len(built) != 1:
            raise RuntimeError("setup.py: expected one _attnsel*.so in {}, found {}".format(build / "python" / "attnsel",
                                                                                              [b.name for b in built]))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


# setuptools' own folders (build/lib.*, bdist.*) next to the CMake build, not in the test build's build/.
setup(version=version(), ext_modules=[Extension("attnsel._attnsel", sources=[])], cmdclass={"build_ext": CMakeBuild},
      options={"build": {"build_base": str(ROOT / "build-python" / "setuptools")}})
