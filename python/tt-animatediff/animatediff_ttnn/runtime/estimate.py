"""How long a run will take here, said before it starts: "about 4 min on this machine".

From this machine's own run records first: the metadata JSON beside every GIF holds every step's time,
the model load, prompt encoding, VAE decode and export, and the size, frames, steps, dtype and preset
that took them. Without a record of the phase, from a short calibration (runtime/calibration.py: a slice
of SD's first UNet level, random weights, a fraction of a second) compared with the same calibration on
the machine whose runs are in runtime/reference_runs.py - a guess, and said to be one.

The arithmetic, once, for both: a run is load + encode + denoise + decode + export (+ the rest: building
the pipeline, the coherence figure). Each stage costs a rate (seconds per unit of work, read from the
comparable records) times the job's work in that stage:

  denoise  UNet evaluations x images per evaluation x per-image work(tokens)
           Phase 1: steps x (2 with guidance > 1, else 1: diffusers drops the unconditional half) x frames
           Phase 2: frames x (steps + 1) (PNDM warms up with one extra call) x 2
           Phase 3: steps x 2 x frames (the frame loop always runs both halves)
  decode   frames x tokens x (1 + tokens / VAE_TOKENS)
  export   frames x pixels
  encode, the rest   once per run
  load     once, unless the sidecar already holds the models (then 0)

tokens = (width / 8) x (height / 8), the latent pixels; per-image UNet work = tokens x (1 + tokens /
ATTENTION_TOKENS): self-attention grows with the square of the token count, everything else linearly.
Both constants come from the committed benchmark records (tests/python/test_estimate.py recomputes them).

Plain Python, no torch: the sidecar and the benchmark that measures how far estimates land
(`python -m benchmarks.first_run`) import it cheaply.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

# At this many latent tokens a UNet image's self-attention costs as much as the rest of it. Fitted to the
# committed records' 256x256 -> 512x512 step times (4x the tokens): 5.1x in bf16 (cpu-speedups-latest 12.50 s
# per call -> presets-latest ours-quality 64.1 s per step), 5.8x in fp32 (22.77 s -> bare-quality 132.1 s).
ATTENTION_TOKENS = 7500.0
# The same for the VAE decoder, per frame: 1.85 s at 256x256 (latest.json) -> 16.4 s at 512x512 (presets-latest
# vae), both fp32 - 8.9x for 4x the pixels (its mid-block attention at the latent size, and memory traffic).
VAE_TOKENS = 1500.0
STAGES = ("load_s", "encode_s", "denoise_s", "decode_s", "export_s", "other_s")
PER_RUN = ("encode_s", "other_s")  # stages that cost the same whatever the job's size
MAX_RUNS = 3  # the most similar records an estimate rests on
RECENT_FILES = 200  # newest metadata files read from a folder


@dataclass(frozen=True)
class Job:
    """What decides a run's time."""

    phase: int
    frames: int
    width: int
    height: int
    steps: int
    guidance: float
    dtype: str  # "bfloat16", "float32", "float16"
    backend: str = "torch"  # Phases 2 and 3: "torch" or "blackhole"
    preset: Optional[str] = None  # Phase 1

    @property
    def tokens(self) -> int:
        return (self.width // 8) * (self.height // 8)

    @property
    def guided(self) -> bool:
        return self.phase != 1 or self.guidance > 1.0

    def work(self, stage: str) -> float:
        if stage == "denoise_s":
            return unet_calls(self) * images_per_call(self) * unet_image_work(self.tokens)
        if stage == "decode_s":
            return self.frames * self.tokens * (1.0 + self.tokens / VAE_TOKENS)
        if stage == "export_s":
            return float(self.frames * self.width * self.height)
        return 1.0

    def describe(self) -> str:
        what = f"Phase {self.phase}" + (f" {self.preset}" if self.preset else "")
        return f"{what}, {self.frames} frames at {self.width}x{self.height}, {self.steps} steps, {self.dtype}"


def unet_image_work(tokens: int) -> float:
    return tokens * (1.0 + tokens / ATTENTION_TOKENS)


def unet_calls(job: Job) -> int:
    return job.frames * (job.steps + 1) if job.phase == 2 else job.steps


def images_per_call(job: Job) -> int:
    if job.phase == 2:
        return 2
    return (2 if job.guided else 1) * job.frames


@dataclass
class Estimate:
    total_s: Optional[float]
    stages: Dict[str, float] = field(default_factory=dict)
    # "job": runs of this very job here; "scaled": runs of this phase here, scaled to the job; "calibration": the
    # reference machine's runs scaled by a calibration here; "reference": those runs unscaled; "none": no estimate
    basis: str = "none"
    runs: int = 0  # records it rests on
    note: str = ""  # what it rests on, in words

    def to_dict(self) -> Dict[str, Any]:
        return {"total_s": None if self.total_s is None else round(self.total_s, 1),
                "stages": {k: round(v, 2) for k, v in self.stages.items()}, "basis": self.basis,
                "runs": self.runs, "note": self.note}


# -- run records ---------------------------------------------------------------------------------------

def job_of(meta: Mapping[str, Any]) -> Optional[Job]:
    """The job a metadata record describes, or None for something that is not a finished run's record."""
    try:
        params = meta["params"]
        preset = meta.get("preset") if isinstance(meta.get("preset"), dict) else {}
        return Job(phase=int(meta["phase"]), frames=int(params["num_frames"]), width=int(params["width"]),
                   height=int(params["height"]), steps=int(params["steps"]), guidance=float(params["guidance_scale"]),
                   dtype=str(meta["dtype"]), backend=str(meta.get("backend") or "torch"),
                   preset=preset.get("name") if int(meta["phase"]) == 1 else None)
    except (KeyError, TypeError, ValueError):
        return None


def stages_of(meta: Mapping[str, Any]) -> Optional[Dict[str, float]]:
    """Seconds per stage of a finished run; "other_s" is what the total holds beyond the named stages."""
    timings = meta.get("timings")
    if not isinstance(timings, dict) or not timings.get("steps_s"):
        return None
    try:
        stages = {"load_s": float(timings.get("load_s") or 0.0), "encode_s": float(timings.get("encode_s") or 0.0),
                  "denoise_s": float(sum(timings["steps_s"])), "decode_s": float(timings.get("decode_s") or 0.0),
                  "export_s": float(timings.get("export_s") or 0.0)}
        stages["other_s"] = max(0.0, float(timings["total_s"]) - sum(stages.values()))
    except (KeyError, TypeError, ValueError):
        return None
    return stages


def same_machine(meta: Mapping[str, Any], host: Mapping[str, Any]) -> bool:
    """Measured here: the same CPU, cores, torch threads and GPU (run_record.py writes them)."""
    recorded = meta.get("host") if isinstance(meta.get("host"), dict) else {}
    return all(recorded.get(key) == host.get(key) for key in ("cpu", "cpu_cores", "torch_threads", "gpu"))


def read_records(folder: Path) -> List[Dict[str, Any]]:
    """The finished runs' metadata in `folder` (newest files first); anything else there is skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.json") if not p.name.startswith(".")]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    records = []
    for path in files[:RECENT_FILES]:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and job_of(meta) is not None and stages_of(meta) is not None:
            records.append(meta)
    return records


# -- the arithmetic ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Run:
    job: Job
    stages: Dict[str, float]
    cold: bool  # its models were loaded for it (the sidecar says `models_reloaded`; a terminal run always loads)
    factor: float = 1.0  # how much slower this machine is than the one the record was measured on


def _run(meta: Mapping[str, Any], factor: float = 1.0) -> Optional[_Run]:
    job, stages = job_of(meta), stages_of(meta)
    if job is None or stages is None:
        return None
    return _Run(job, stages, bool(meta.get("models_reloaded", True)), factor)


def _likeness(job: Job, other: Job) -> Tuple[int, ...]:
    return (other.phase == job.phase, other.dtype == job.dtype, other.preset == job.preset,
            other.guided == job.guided, (other.width, other.height) == (job.width, job.height),
            other.frames == job.frames, other.steps == job.steps)


def _from_runs(job: Job, runs: Sequence[_Run], models_loaded: bool) -> Dict[str, float]:
    """Each stage: the median rate of `runs` (seconds per unit of work, times their factor) x the job's work."""
    stages: Dict[str, float] = {}
    for stage in STAGES:
        if stage == "load_s":
            continue
        rates = [run.stages[stage] * run.factor / run.job.work(stage) for run in runs if run.job.work(stage) > 0]
        stages[stage] = statistics.median(rates) * job.work(stage) if rates else 0.0
    cold = [run.stages["load_s"] * run.factor for run in runs if run.cold]
    stages["load_s"] = 0.0 if models_loaded or not cold else statistics.median(cold)
    return {stage: stages[stage] for stage in STAGES}


def _best(job: Job, runs: Iterable[_Run]) -> List[_Run]:
    """The runs most like `job` (all equally like it, newest first, at most MAX_RUNS): a record of the very
    same job is not averaged with less similar ones."""
    ranked = sorted(runs, key=lambda run: _likeness(job, run.job), reverse=True)  # stable: newest first among equals
    top = _likeness(job, ranked[0].job)
    return [run for run in ranked if _likeness(job, run.job) == top][:MAX_RUNS]


def from_records(job: Job, records: Sequence[Mapping[str, Any]], host: Mapping[str, Any],
                 models_loaded: bool) -> Optional[Estimate]:
    """From this machine's records of the same phase, backend and dtype; None when there are none."""
    runs = []
    for meta in records:
        run = _run(meta)
        if run and same_machine(meta, host) and (run.job.phase, run.job.backend, run.job.dtype) == (
                job.phase, job.backend, job.dtype):
            runs.append(run)
    if not runs:
        return None
    best = _best(job, runs)
    stages = _from_runs(job, best, models_loaded)
    if not models_loaded and stages["load_s"] == 0.0:  # none of the closest loaded its models: any cold one here
        stages["load_s"] = _from_runs(job, runs, False)["load_s"]
    same = best[0].job == job
    runs_word = f"{len(best)} run{'s' if len(best) > 1 else ''}"
    note = (f"from your {runs_word} of this job here" if same else
            f"scaled from your {runs_word} of Phase {job.phase} here ({best[0].job.describe()})")
    return Estimate(sum(stages.values()), stages, "job" if same else "scaled", len(best), note)


def from_reference(job: Job, reference: Mapping[str, Any], seconds_here: Optional[float],
                   models_loaded: bool) -> Optional[Estimate]:
    """A guess: the reference machine's runs, scaled by how much longer the calibration takes here than
    there - or, when the reference has no calibration (or `seconds_here` is None), given as measured there.
    None for the blackhole backend: no card figure without a run on a card."""
    if job.backend == "blackhole":
        return None
    calibration = reference.get("calibration_s") or {}
    scaled = bool(calibration) and seconds_here is not None
    runs = []
    for meta in reference["runs"]:
        dtype = meta.get("dtype")
        if not scaled or dtype in calibration:
            run = _run(meta, seconds_here / calibration[dtype] if scaled else 1.0)
            if run is not None:
                runs.append(run)
    same_phase = [run for run in runs if run.job.phase == job.phase]
    chosen = same_phase or runs  # no reference run of this phase: the others', by work - rougher, and said so
    if not chosen:
        return None
    best = _best(job, chosen)
    stages = _from_runs(job, best, models_loaded)
    how = (f"{reference['machine']}'s runs scaled by a {seconds_here:.2f} s calibration of this machine"
           if scaled else f"what {reference['machine']} measured ({best[0].job.describe()}), not scaled to this machine")
    rougher = "" if same_phase else f"; those runs are of another phase, so rougher still for Phase {job.phase}"
    note = f"a guess: no Phase {job.phase} run here yet; {how}{rougher}. Your first run's record replaces it"
    return Estimate(sum(stages.values()), stages, "calibration" if scaled else "reference", len(best), note)


def estimate(job: Job, records: Sequence[Mapping[str, Any]], host: Mapping[str, Any], models_loaded: bool,
             reference: Optional[Mapping[str, Any]] = None, calibrate=None) -> Estimate:
    """This machine's records when it has some of this phase; else the reference runs, scaled by
    `calibrate()` (seconds; None when it may not run now, e.g. during a run) where the reference has a
    calibration; else no estimate, saying why."""
    found = from_records(job, records, host, models_loaded)
    if found is not None:
        return found
    if job.backend == "blackhole":
        return Estimate(None, note=f"no estimate: Phase {job.phase} has not run on a card here, and no card "
                                   "figure is given without a run")
    if reference is None:
        return Estimate(None, note=f"no estimate yet: no Phase {job.phase} run here")
    if reference.get("calibration_s"):
        seconds = calibrate() if calibrate is not None else None
        if seconds is None:
            return Estimate(None, note=f"no estimate yet: no Phase {job.phase} run here, and the calibration "
                                       "waits until no run is in progress")
        return from_reference(job, reference, seconds, models_loaded) or Estimate(None)
    return from_reference(job, reference, None, models_loaded) or Estimate(None)
