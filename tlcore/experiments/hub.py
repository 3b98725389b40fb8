"""Optional push of a run to the Hugging Face Hub: the folder `exports` builds (transformers for text, timm for
images), uploaded to a private repo when a token is configured. `dry_run` builds the exact folder that would be
pushed and uploads nothing; the upload itself needs the Hub and a token, which tests here do not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tlcore.core.errors import UserError
from tlcore.core.settings import offline_forced
from tlcore.experiments.exports import export_huggingface, export_timm
from tlcore.experiments.predict import Predictor


def push_run(run_id: str, repo_id: str, folder: Path, dry_run: bool = False) -> dict[str, Any]:
    """Build the Hub folder of `run_id` in `folder` and, unless `dry_run`, upload it to `repo_id` (private)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise UserError(f"{repo_id!r} is not a Hugging Face repo id (like 'your-name/model-name').") from None
    predictor = Predictor(run_id)
    build = export_huggingface if predictor.modality == "text" else export_timm
    build(predictor, Path(folder))
    files = sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())
    result = {"run_id": run_id, "repo": repo_id, "folder": str(folder), "files": files, "pushed": False}
    if dry_run:
        return result
    return dict(result, pushed=True, url=_upload(repo_id, Path(folder)))


def _upload(repo_id: str, folder: Path) -> str:
    from huggingface_hub import HfApi, get_token

    token = get_token()
    if not token:
        raise UserError("No Hugging Face token is configured (set HF_TOKEN or run `hf auth login`); use --dry-run "
                        "to build the folder only.")
    if offline_forced():
        raise UserError("Offline mode is on (TLAB_OFFLINE or HF_HUB_OFFLINE), so nothing can be pushed; use "
                        "--dry-run to build the folder only.")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=True, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder),
                                   commit_message="Upload a model trained with Transfer Lab")
    except Exception as exc:  # HTTP errors, permissions, quota
        raise UserError(f"Could not push to {repo_id}: {exc}") from exc
    return commit.commit_url
