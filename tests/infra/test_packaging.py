"""Rollgate installed with pip, not run from a checkout: the wheel holds the construct and the Lambda
package, and a CDK app importing the installed package bundles the Lambda asset from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import rollgate
from rollgate_cdk.task_function import FUNCTIONS_DIR, PACKAGE_DIR

ROOT = Path(__file__).resolve().parents[2]
#: what the wheel is built from (pyproject.toml's package folders)
SOURCES = ("pyproject.toml", "functions", "rollgate_cdk", "rollgate_cli", "rollgate_local", "rollgate_bench")
EXAMPLE = ROOT / "examples" / "orders_app" / "app.py"

# The installed copy synthesizes the example app and says where its modules and the asset came from.
SYNTH = """
import importlib.util, json, sys
import rollgate, rollgate_cdk.construct
spec = importlib.util.spec_from_file_location("example", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assembly = module.build_app(outdir=sys.argv[2]).synth()
manifest = json.load(open(f"{sys.argv[2]}/{module.STACK_NAME}.assets.json"))
print(json.dumps({
    "rollgate": rollgate.__file__,
    "rollgate_cdk": rollgate_cdk.construct.__file__,
    "assets": [asset["source"]["path"] for asset in manifest["files"].values()],
}))
"""


def test_the_asset_is_the_folder_of_the_imported_rollgate_package() -> None:
    assert Path(rollgate.__file__).resolve().parent == PACKAGE_DIR
    assert PACKAGE_DIR.parent == FUNCTIONS_DIR
    assert (PACKAGE_DIR / "contract.py").is_file()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources (a build writes into its source tree), installed
    into a folder of its own."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(path, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("rollgate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "rollgate/contract.py" in names and "rollgate_cdk/construct.py" in names
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def test_a_cdk_app_bundles_the_lambda_asset_from_the_installed_package(installed: Path, tmp_path: Path) -> None:
    # when: the example app synthesizes with only the installed copy of Rollgate importable (not the
    # checkout: run from elsewhere, without the repository's PYTHONPATH)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment |= {"PYTHONPATH": str(installed), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    outdir = tmp_path / "cdk.out"
    completed = subprocess.run(
        [sys.executable, "-c", SYNTH, str(EXAMPLE), str(outdir)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    # then: Rollgate came from the installed folder
    assert Path(found["rollgate"]).is_relative_to(installed)
    assert Path(found["rollgate_cdk"]).is_relative_to(installed)
    # and the task asset holds the package only (site-packages holds every other distribution too),
    # the same files as the checkout's
    task_assets = [outdir / path for path in found["assets"] if (outdir / path / "rollgate").is_dir()]
    assert len(task_assets) == 1
    (asset,) = task_assets
    assert sorted(p.name for p in asset.iterdir()) == ["rollgate"]
    bundled = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*.py"))
    checkout = sorted(p.relative_to(FUNCTIONS_DIR).as_posix() for p in PACKAGE_DIR.rglob("*.py"))
    assert bundled == checkout
    assert not list(asset.rglob("__pycache__"))
