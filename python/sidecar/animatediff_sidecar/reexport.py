"""`studio/export`: more formats from a finished run, by decoding its recorded latents with the VAE
(no denoising again) and writing them with the package's own `write_outputs` (all files and the
updated metadata together, or none).

The metadata names where the run's files are, and anyone can edit it: its outputs must pass the
run's folder rule (run_folder.py, the rule of `studio/runs`) before anything is read or written, so
an export never writes outside the folder that holds the metadata."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Dict

from .failures import is_cancelled
from .jobs import Job
from .output_folder import check_output_folder, output_errors
from .protocol import OUTPUT_FORMATS, ExportParams, ExportResult, InvalidParams, RequestCancelled
from .run_folder import run_outputs


class ExportJob(Job):
    def __init__(self, request: ExportParams, request_id: Any = None):
        super().__init__(request, request_id)
        self.run_id = f"export-{secrets.token_hex(3)}"

    def run(self, runner: Any) -> ExportResult:
        from .record import read_metadata, read_run_record, record_latents, record_path_for

        req: ExportParams = self.request
        meta_path = Path(req.metadata_path)
        meta = _read_run_metadata(meta_path, read_metadata)
        outputs = _outputs_inside(meta_path, meta["outputs"])  # before the record is read or a file written
        record_file = record_path_for(meta_path.with_suffix(".gif"))
        if not record_file.is_file():
            raise InvalidParams("metadataPath", f"this run has no run record ({record_file.name}); "
                                                "only runs made by the sidecar can be re-exported")
        payload, latents = _read_record(record_file, read_run_record, record_latents)
        runner.code.refresh()
        api = runner.code.api()
        sd_source = (payload.get("models") or {}).get("sd", {}).get("source") or api.default_source("sd")
        loaded = runner.cache.load(sd_source, None, "auto" if payload.get("phase") == 1 else "cpu")
        token = self.new_token(api)
        frames = []
        for index in range(latents.shape[0]):
            if token.cancelled:
                raise RequestCancelled("export cancelled; nothing was written")
            frames.append(api.decode_frame(loaded.sd, latents[index:index + 1]))
        gif_path = Path(outputs.get("gif") or meta_path.with_suffix(".gif"))
        fps = int(payload.get("params", {}).get("fps") or meta.get("params", {}).get("fps") or 8)
        check_output_folder(gif_path.parent)

        def metadata(written: Dict[str, str]) -> Dict[str, Any]:
            return {**meta, "outputs": {**outputs, **written}}

        try:
            with output_errors(gif_path.parent):
                _written, updated = api.write_outputs(frames, gif_path, fps, req.formats, metadata, meta_path,
                                                      check=token.raise_if_cancelled, commit=token.commit)
        except Exception as exc:  # noqa: BLE001
            if is_cancelled(exc):
                raise RequestCancelled("export cancelled; nothing was written") from exc
            raise
        return ExportResult(dict(updated["outputs"]), str(meta_path))


def _outputs_inside(meta_path: Path, outputs: Dict[Any, Any]) -> Dict[str, str]:
    """The run's outputs as absolute paths in its folder; InvalidParams for any that is not."""
    kept, refused = run_outputs(meta_path, outputs, OUTPUT_FORMATS)
    if refused:
        fmt, why = next(iter(refused.items()))
        raise InvalidParams("metadataPath", f"the run's outputs.{fmt} {why}: a run's files are in the folder of "
                                            "its metadata, so this run is not re-exported (nothing was written)")
    return kept


def _read_record(record_file: Path, read_run_record: Any, record_latents: Any) -> Any:
    """(the record, its latents); a damaged or unreadable record is named as such."""
    try:
        payload = read_run_record(record_file)
        return payload, record_latents(payload)
    except Exception as exc:  # noqa: BLE001 - msgpack's and numpy's errors for a file that is not a whole record
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise InvalidParams("metadataPath", f"the run record {record_file} cannot be read ({detail}); it is damaged "
                                            "or incomplete, so this run cannot be re-exported") from exc


def _read_run_metadata(meta_path: Path, read_metadata: Any) -> Dict[str, Any]:
    try:
        meta = read_metadata(meta_path)
    except (OSError, ValueError, RecursionError) as exc:
        raise InvalidParams("metadataPath", f"cannot read a run's metadata there ({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("outputs"), dict):
        raise InvalidParams("metadataPath", "this JSON is not the metadata of a run")
    return meta
