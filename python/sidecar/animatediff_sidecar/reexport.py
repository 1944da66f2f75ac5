"""`studio/export`: more formats from a finished run, by decoding its recorded latents with the VAE
(no denoising again) and writing them with the package's own `write_outputs` (all files and the
updated metadata together, or none)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Dict

from .failures import is_cancelled
from .jobs import Job
from .output_folder import check_output_folder, output_errors
from .protocol import ExportParams, ExportResult, InvalidParams, RequestCancelled


class ExportJob(Job):
    def __init__(self, request: ExportParams, request_id: Any = None):
        super().__init__(request, request_id)
        self.run_id = f"export-{secrets.token_hex(3)}"

    def run(self, runner: Any) -> ExportResult:
        from .record import read_metadata, read_run_record, record_latents, record_path_for

        req: ExportParams = self.request
        meta_path = Path(req.metadata_path)
        meta = _read_run_metadata(meta_path, read_metadata)
        record_file = record_path_for(meta_path.with_suffix(".gif"))
        if not record_file.is_file():
            raise InvalidParams("metadataPath", f"this run has no run record ({record_file.name}); "
                                                "only runs made by the sidecar can be re-exported")
        payload = read_run_record(record_file)
        runner.code.refresh()
        api = runner.code.api()
        sd_source = (payload.get("models") or {}).get("sd", {}).get("source") or api.default_source("sd")
        loaded = runner.cache.load(sd_source, None, "auto" if payload.get("phase") == 1 else "cpu")
        token = self.new_token(api)
        latents = record_latents(payload)
        frames = []
        for index in range(latents.shape[0]):
            if token.cancelled:
                raise RequestCancelled("export cancelled; nothing was written")
            frames.append(api.decode_frame(loaded.sd, latents[index:index + 1]))
        gif_path = Path(meta["outputs"].get("gif") or meta_path.with_suffix(".gif"))
        fps = int(payload.get("params", {}).get("fps") or meta.get("params", {}).get("fps") or 8)
        check_output_folder(gif_path.parent)

        def metadata(written: Dict[str, str]) -> Dict[str, Any]:
            return {**meta, "outputs": {**meta["outputs"], **written}}

        try:
            with output_errors():
                _written, updated = api.write_outputs(frames, gif_path, fps, req.formats, metadata, meta_path,
                                                      check=token.raise_if_cancelled, commit=token.commit)
        except Exception as exc:  # noqa: BLE001
            if is_cancelled(exc):
                raise RequestCancelled("export cancelled; nothing was written") from exc
            raise
        return ExportResult(dict(updated["outputs"]), str(meta_path))


def _read_run_metadata(meta_path: Path, read_metadata: Any) -> Dict[str, Any]:
    try:
        meta = read_metadata(meta_path)
    except (OSError, ValueError) as exc:
        raise InvalidParams("metadataPath", f"cannot read a run's metadata there ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("outputs"), dict):
        raise InvalidParams("metadataPath", "this JSON is not the metadata of a run")
    return meta
