"""Container images in the local runtime: a folder (or a tar) of code and a CMD, pushed to moto's ECR.

Lambda runs an image function from an ECR image named by digest. Without Docker there is no image
to build, so an image here is what a Lambda base image adds a function's code to: one layer (a tar
of the code, under /var/task) and an image config whose CMD is the handler. It is pushed as
`docker push` does, through the ECR API (blob uploads, then PutImage with a Docker v2 manifest), so
its digest is ECR's and preflight's DescribeImages finds it. moto keeps the manifest; the blob bytes
are kept beside it by ``rollgate_local.bridge`` (patch 27), and the data plane runs an image function's
code from them (``rollgate_local.data_plane``).

Public API:

    push_image(session, repository, code, *, cmd="app.handler", tag=None) -> str
        the image's URI by digest (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:...);
        `code` is a folder, a tar archive (a path), or {relative path -> text or bytes}; the
        repository is created if missing; the same code and CMD give the same digest
    image_tar(files) -> bytes     the layer: `files` under var/task/, deterministic

Not modelled: a base image (its runtime is the virtualenv's), ENTRYPOINT, Env and WorkingDir other
than /var/task, multi-layer images built by Docker, image scanning, replication.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar"
TASK_ROOT = "var/task"


class _Session(Protocol):
    def client(self, service: str) -> Any: ...


def image_tar(files: Mapping[str, str | bytes]) -> bytes:
    """A tar of `files` under var/task/, with fixed metadata: the same files give the same bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(files):
            content = files[name]
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{TASK_ROOT}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _layer(code: Path | Mapping[str, str | bytes]) -> bytes:
    if isinstance(code, Mapping):
        return image_tar(code)
    if code.is_file():  # a tar archive: taken as it is (its paths are the image's)
        return code.read_bytes()
    files = {
        path.relative_to(code).as_posix(): path.read_bytes()
        for path in code.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    return image_tar(files)


def _upload_blob(ecr: Any, repository: str, data: bytes) -> str:
    upload_id = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(
        repositoryName=repository,
        uploadId=upload_id,
        partFirstByte=0,
        partLastByte=max(0, len(data) - 1),
        layerPartBlob=data,
    )
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    answer = ecr.complete_layer_upload(repositoryName=repository, uploadId=upload_id, layerDigests=[digest])
    return str(answer["layerDigest"])


def push_image(
    session: _Session,
    repository: str,
    code: Path | Mapping[str, str | bytes],
    *,
    cmd: str = "app.handler",
    tag: str | None = None,
) -> str:
    """Push `code` with CMD `cmd` to `repository` (created if missing); its URI by digest."""
    ecr = session.client("ecr")
    try:
        uri = ecr.create_repository(repositoryName=repository)["repository"]["repositoryUri"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryAlreadyExistsException":
            raise
        uri = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]["repositoryUri"]
    layer = _layer(Path(code) if isinstance(code, str) else code)
    layer_digest = _upload_blob(ecr, repository, layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": [cmd], "WorkingDir": f"/{TASK_ROOT}"},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        },
        sort_keys=True,
    ).encode()
    config_digest = _upload_blob(ecr, repository, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "size": len(layer), "digest": layer_digest}],
    }
    put: dict[str, Any] = {"repositoryName": repository, "imageManifest": json.dumps(manifest, sort_keys=True)}
    if tag:
        put["imageTag"] = tag
    try:
        digest = ecr.put_image(**put)["image"]["imageId"]["imageDigest"]
    except ClientError as error:  # the same image pushed again (ECR refuses an unchanged tag)
        if error.response["Error"]["Code"] != "ImageAlreadyExistsException":
            raise
        digest = f"sha256:{hashlib.sha256(put['imageManifest'].encode()).hexdigest()}"
    return f"{uri}@{digest}"
