"""cfn-lint (the pinned one in this environment) has nothing to say about template.yaml."""

import subprocess
import sys
from pathlib import Path

from tests.template.cfn import REPO, TEMPLATE


def test_cfn_lint_reports_nothing() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--", str(TEMPLATE.relative_to(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
