"""Makes a distribution shaped like a python-build-standalone "full" one from the source build:
core objects listed one by one, an inittab object and source, and one extension module
(default _heapq) moved out of the core, with its object file, init function and libraries
(OpenSSL's for _ssl, in build/lib as PBS keeps them), so that the consumer must link the
objects itself and regenerate the inittab.

Usage: python3 synth_pbs_dist.py SOURCE_DIST OUT_DIR [MODULE]
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys


def main(source, out, module="_heapq"):
    src, dst = pathlib.Path(source) / "python", pathlib.Path(out) / "python"
    info = json.loads((src / "PYTHON.json").read_text())
    dst.mkdir(parents=True)
    for shared in ("install", "licenses"):
        os.symlink(src / shared, dst / shared)
    core = dst / "build" / "core"
    core.mkdir(parents=True)
    os.symlink(src / "build" / "lib", dst / "build" / "lib")
    subprocess.run(["ar", "x", str(src / info["build_info"]["core"]["static_lib"])], cwd=core, check=True)

    obj = f"{module.lstrip('_')}module.o"
    obj = next(p.name for p in core.iterdir() if p.name in (f"{module}module.o", obj, f"{module}.o"))
    ext_dir = dst / "build" / "extensions" / module
    ext_dir.mkdir(parents=True)
    shutil.move(core / obj, ext_dir / obj)

    config_c = (src / info["build_info"]["inittab_source"]).read_text()
    kept = [line for line in config_c.splitlines() if f"PyInit_{module}" not in line]
    (core / "config.c").write_text("\n".join(kept) + "\n")

    bi = info["build_info"]
    bi["core"]["objs"] = sorted(f"build/core/{p.name}" for p in core.glob("*.o") if p.name != "config.o")
    del bi["core"]["static_lib"]
    bi["inittab_object"] = "build/core/config.o"
    bi["inittab_source"] = "build/core/config.c"
    links = bi["extensions"][module][0]["links"]
    bi["extensions"][module] = [{
        "in_core": False, "init_fn": f"PyInit_{module}", "links": links, "variant": "default",
        "objs": [f"build/extensions/{module}/{obj}"],
    }]
    (dst / "PYTHON.json").write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:])
