"""What the repository ships for a hosted server: no tracebacks for visitors, no unneutralised table exports,
and secrets that cannot be committed."""

import subprocess
import tomllib

from tests.support.paths import REPO


def test_the_hosted_config_shows_no_error_details_and_no_raw_table_exports():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"  # a visitor sees a plain message, not our code
    assert config["client"]["disableDataExport"] is True  # st.dataframe's CSV would not neutralise formulas


def test_streamlit_secrets_are_ignored_by_git():
    out = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=REPO)
    assert out.returncode == 0, ".streamlit/secrets.toml (sign-in keys) must never be committed"
