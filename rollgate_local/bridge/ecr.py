"""ECR blobs and image functions (27-28).

Patches (what AWS does / what moto 5.2.5 does / what we change):

27. ECR blobs (``ECRBackend.complete_layer_upload``). AWS keeps the bytes of every blob pushed
    (InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload), the image config as well as the
    layers; moto keeps only their sizes. We keep the bytes on the repository, so ``read_image`` can
    give the data plane what an image holds (its code, its CMD).
28. Image functions (``moto.settings.lambda_stub_ecr``, ``LambdaFunction.get_code``, and inside 6).
    AWS resolves an image function's ImageUri in ECR (a missing image fails CreateFunction /
    UpdateFunctionCode) and reports CodeSha256 as the image digest's hex; GetFunction's
    ResolvedImageUri is REPOSITORY@sha256:DIGEST. moto stubs ECR unless MOTO_LAMBDA_STUB_ECR=false
    (CodeSha256 then hashes the URI text), builds ResolvedImageUri as "REPOSITORY@sha256@sha256:…"
    for a URI by digest, and publishes versions sharing $LATEST's code dict, so a later
    UpdateFunctionCode changes every version's ImageUri. We resolve in moto's ECR while installed,
    report ResolvedImageUri as AWS does, and give each published version its own code dict.
"""

from __future__ import annotations

from typing import Any

from rollgate_local.bridge.core import _BLOBS_ATTR, _patch


def install() -> None:
    from moto import settings
    from moto.awslambda import models as lambda_models
    from moto.ecr import models as ecr_models

    # 27. The bytes of each blob pushed are kept on its repository.
    original_complete = ecr_models.ECRBackend.complete_layer_upload

    def complete_layer_upload(
        self: Any, repository_name: str, upload_id: str, layer_digests: list[str], registry_id: str | None = None
    ) -> dict[str, Any]:
        repository = self._get_repository(repository_name, registry_id)
        upload = repository.uploads.get(upload_id)
        data = bytes(upload.layer_parts) if upload is not None else b""
        result: dict[str, Any] = original_complete(self, repository_name, upload_id, layer_digests, registry_id)
        blobs = repository.__dict__.setdefault(_BLOBS_ATTR, {})
        blobs[result["layerDigest"]] = data
        return result

    _patch(ecr_models.ECRBackend, "complete_layer_upload", complete_layer_upload)

    # 28. Images resolved in moto's ECR (CodeSha256 = the digest), ResolvedImageUri as AWS reports it.
    _patch(settings, "lambda_stub_ecr", lambda: False)
    original_get_code = lambda_models.LambdaFunction.get_code

    def get_code(self: Any) -> dict[str, Any]:
        response: dict[str, Any] = original_get_code(self)
        code = response.get("Code") or {}
        if code.get("ImageUri"):
            uri = str(code["ImageUri"]).split("@", 1)[0]
            repository = uri.rsplit(":", 1)[0] if ":" in uri.rsplit("/", 1)[-1] else uri
            code["ResolvedImageUri"] = f"{repository}@sha256:{self.code_sha_256}"
        return response

    _patch(lambda_models.LambdaFunction, "get_code", get_code)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.ecr.models.ECRBackend.complete_layer_upload": ("self", "repository_name", "upload_id", "layer_digests"),
    "moto.settings.lambda_stub_ecr": (),
    "moto.awslambda.models.LambdaFunction.get_code": ("self",),
}
RELIED_ON: frozenset[str] = frozenset()
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.ecr.models.ECRBackend.complete_layer_upload":
        "3b72d22fe126a15e9c6e1d150cf79b7506ae54c4fb16f918c5f8430bc0a8027f",
    "moto.settings.lambda_stub_ecr":
        "e629e10290560108075e3bc32c2e4e9df4cbe8c84aa6aaeef5f27c989636ffa4",
    "moto.awslambda.models.LambdaFunction.get_code":
        "06c9aab0ee2bf01397638a3f4e5de32a15a1a98acc7467c854adc041955165cb",
}
# fmt: on
