"""Code loading: a version's zip or image (layers from the local ECR) extracted once per CodeSha256,
Rollgate's own packages imported by module path, any other code in isolation by file path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import io
import json
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

from rollgate_local import bridge
from rollgate_local.bridge import (
    FunctionRecord,
)
from rollgate_local.data_plane.base import DataPlaneBase
from rollgate_local.data_plane.output import _invocation_print, _user_trace
from rollgate_local.data_plane.records import _Image, _InitError, _LoadedHandler


class CodeLoading(DataPlaneBase):
    """A version's code (its zip, or its image's layers) on disk, and its handler imported."""

    def _code_path(self, record: FunctionRecord) -> Path:
        return self._code_root / re.sub(r"[^A-Za-z0-9]", "_", record.code_sha256 or "nocode")

    def _code_dir(self, record: FunctionRecord) -> Path:
        directory = self._code_path(record)
        image = self._image(record) if record.package_type == "Image" else None
        if not directory.exists():
            staging = Path(tempfile.mkdtemp(dir=self._code_root, prefix=".extract-"))
            if image is None:
                with zipfile.ZipFile(io.BytesIO(record.code_bytes)) as archive:
                    archive.extractall(staging)
            else:
                for layer in image.layers:  # in order: a later layer's files replace an earlier one's
                    with tarfile.open(fileobj=io.BytesIO(layer)) as archive:
                        archive.extractall(staging, filter="data")
            try:
                staging.rename(directory)
            except OSError:  # another thread extracted the same code first
                shutil.rmtree(staging, ignore_errors=True)
        return directory / image.working_dir.lstrip("/") if image is not None else directory

    def _image(self, record: FunctionRecord) -> _Image:
        """The image an image function's version runs: by the digest Lambda resolved (its
        CodeSha256), in the repository its ImageUri names. An image missing from ECR cannot start."""
        uri = record.image_uri or ""
        repository = uri.split("/", 1)[-1].split("@", 1)[0]
        if ":" in repository:
            repository = repository.rsplit(":", 1)[0]
        key = (record.account, repository, record.code_sha256)
        cached = self._images.get(key)
        if cached is not None:
            return cached
        try:
            found = bridge.read_image(record.account, record.region, repository, f"sha256:{record.code_sha256}")
            config = json.loads(found.blobs[found.manifest["config"]["digest"]]).get("config") or {}
            layers = tuple(found.blobs[layer["digest"]] for layer in found.manifest.get("layers") or [])
        except (LookupError, KeyError, ValueError) as error:
            raise _InitError(
                "Runtime.InvalidEntrypoint", f"{record.name}: image {uri} cannot be read: {error}", []
            ) from error
        image = _Image(layers, tuple(config.get("Cmd") or ()), str(config.get("WorkingDir") or "/var/task"))
        self._images[key] = image
        return image

    def _with_image_handler(self, record: FunctionRecord) -> FunctionRecord:
        """An image function's record with its handler: ImageConfig's Command, else the image's CMD."""
        command = record.image_command or self._image(record).command
        if not command:
            raise _InitError("Runtime.InvalidEntrypoint", f"{record.name}: the image has no CMD (the handler)", [])
        return dataclasses.replace(record, handler=command[0])

    def _load(self, record: FunctionRecord) -> _LoadedHandler:
        if record.package_type == "Image":
            record = self._with_image_handler(record)
        cached = self._handlers.get(self._handler_key(record))
        if cached is not None:  # warm: no lock, so traffic never waits for another function's import
            return cached
        with self._load_lock:  # one import at a time: sys.path and sys.modules are shared
            return self._load_locked(record)

    @staticmethod
    def _handler_key(record: FunctionRecord) -> tuple[Any, ...]:
        # One execution environment per code, handler and environment (each version gets its own
        # on AWS); the environment matters for code that reads it at import.
        return (record.code_sha256, record.handler, frozenset(record.environment.items()))

    def _load_locked(self, record: FunctionRecord) -> _LoadedHandler:
        if record.package_type == "Zip" and not record.code_bytes:
            raise _InitError("Runtime.InvalidEntrypoint", f"{record.name}: the zip package has no code", [])
        module_name, _, function_name = record.handler.rpartition(".")
        if not module_name:
            raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{record.handler}'", [])
        module_name = module_name.replace("/", ".")
        key = self._handler_key(record)
        cached = self._handlers.get(key)
        if cached is not None:
            return cached
        try:
            directory = self._code_dir(record)
        except zipfile.BadZipFile as error:
            raise _InitError(
                "Runtime.InvalidEntrypoint", f"{record.name}: the code is not a zip: {error}", []
            ) from error
        except tarfile.TarError as error:
            raise _InitError(
                "Runtime.InvalidEntrypoint", f"{record.name}: an image layer is not a tar archive: {error}", []
            ) from error
        own_code = any((directory / package).is_dir() for package in self.own_packages)
        if own_code and not self._own_code_started:
            self._own_code_started = True
            self._cold_start_own_packages()
        try:
            if own_code:
                if str(directory) not in sys.path:
                    sys.path.append(str(directory))
                    self._added_paths.append(str(directory))
                module = importlib.import_module(module_name)
                if "print" not in vars(module):
                    module.print = _invocation_print  # type: ignore[attr-defined]
            else:
                module = self._load_isolated(directory, module_name, repr(key))
        except ImportError as error:
            raise _InitError(
                "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}", []
            ) from error
        except SyntaxError as error:
            raise _InitError(
                "Runtime.UserCodeSyntaxError",
                f"Syntax error in module '{module_name}': {error}",
                [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}'],
            ) from error
        except Exception as error:
            raise _InitError(type(error).__name__, str(error), _user_trace(error)) from error
        handler = getattr(module, function_name, None)
        if not callable(handler):
            raise _InitError(
                "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'", []
            )
        loaded = _LoadedHandler(function=handler, module=module)
        self._handlers[key] = loaded
        return loaded

    def _cold_start_own_packages(self) -> None:
        """A new data plane is a new set of execution environments. Own code is imported once per
        process, so what its modules cached at module level for a previous runtime (the STYLE's
        lazily built `_deps()`: clients, settings, the clock) is cleared, and the next invocation
        builds it again from this runtime's environment, as a cold start does on Lambda."""
        for name, module in list(sys.modules.items()):
            if module is None or name.split(".")[0] not in self.own_packages:
                continue
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()

    @staticmethod
    def _load_isolated(directory: Path, module_name: str, key: str) -> ModuleType:
        relative = Path(*module_name.split("."))
        path = directory / relative.with_suffix(".py")
        if not path.exists() and (directory / relative / "__init__.py").exists():
            path = directory / relative / "__init__.py"
        if not path.exists():
            raise ModuleNotFoundError(f"No module named '{module_name}'")
        unique = "_rollgate_fn_" + hashlib.sha256(key.encode()).hexdigest()[:16]
        spec = importlib.util.spec_from_file_location(f"{unique}.{module_name}".replace(".", "_"), path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        module.print = _invocation_print  # type: ignore[attr-defined]  # its own `def print` wins
        sys.modules[spec.name] = module
        sys.path.insert(0, str(directory))  # sibling modules of the handler resolve, as in /var/task
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(spec.name, None)
            raise
        finally:
            if str(directory) in sys.path:
                sys.path.remove(str(directory))
        return module
