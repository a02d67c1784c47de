"""Stand-in ``aws`` and ``docker`` commands for testing the sample job scripts.

The stand-ins are small shell scripts put first on PATH. Each appends one line per call to a
calls file (the command name and its arguments, tab-separated) and answers the way the real
command would for the calls the scripts make; environment variables select failures.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"

# One write per call: `aws ecr get-login-password | docker login` runs two stand-ins at once,
# and lines written in pieces would interleave.
RECORD = """\
line=$(basename "$0")
for arg in "$@"; do line="$line$(printf '\\t%s' "$arg")"; done
printf '%s\\n' "$line" >>"$FAKE_CALLS"
"""

FAKE_AWS = f"""#!/bin/sh
{RECORD}
case "$1 $2" in
  "configure get")
    [ -n "${{FAKE_CONFIGURED_REGION:-}}" ] || exit 1
    printf '%s\\n' "$FAKE_CONFIGURED_REGION" ;;
  "sts get-caller-identity") printf '123456789012\\n' ;;
  "ecr describe-repositories")
    if [ -n "${{FAKE_NO_REPOSITORY:-}}" ]; then
      echo "An error occurred (RepositoryNotFoundException)" >&2; exit 254
    fi
    printf '{{"repositories": []}}\\n' ;;
  "ecr get-login-password") printf 'not-a-real-password\\n' ;;
esac
exit 0
"""

FAKE_DOCKER = f"""#!/bin/sh
{RECORD}
case "$1" in
  info)
    if [ -n "${{FAKE_DOCKER_DOWN:-}}" ]; then
      echo "Cannot connect to the Docker daemon" >&2; exit 1
    fi ;;
  login) cat >/dev/null; echo "Login Succeeded" ;;
esac
exit 0
"""


@dataclass
class FakeTools:
    """A directory whose ``bin`` holds the stand-ins, and what they recorded."""

    root: Path

    @property
    def calls_file(self) -> Path:
        return self.root / "calls"

    def calls(self) -> list[list[str]]:
        """Return every recorded call as ``[command, arg, ...]``, in order."""
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text().splitlines()
        return [line.split("\t") for line in lines]

    def env(self, **extra: str) -> dict[str, str]:
        """Return a clean environment with the stand-ins first on PATH."""
        env = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(self.root),
            "LANG": "C",
            "FAKE_CALLS": str(self.calls_file),
            "FAKE_WRITES": str(self.root / "writes"),
        }
        env.update(extra)
        return env

    def run(self, command: list[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` with ``env(**extra_env)`` and capture its output."""
        return subprocess.run(
            command,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def install(root: Path) -> FakeTools:
    """Write the stand-ins into ``root/bin`` and return the ``FakeTools`` that uses them."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return FakeTools(root)


REAL_HEAD = shutil.which("head", path=f"/usr/bin{os.pathsep}/bin") or "/usr/bin/head"

# A stand-in ``head`` that writes as the real one does, and records where each call writes
# (its standard output) in $FAKE_WRITES. The call numbered $FAKE_HEAD_STALL_AT writes a part
# of its output, then hangs, so that a test can stop the job in the middle of a file.
FAKE_HEAD = f"""#!/bin/sh
n=$(( $(cat "$FAKE_WRITES.count" 2>/dev/null || echo 0) + 1 ))
printf '%s\\n' "$n" >"$FAKE_WRITES.count"
printf '%s\\n' "$(readlink /proc/$$/fd/1)" >>"$FAKE_WRITES"
if [ "$n" = "${{FAKE_HEAD_STALL_AT:-0}}" ]; then
  {REAL_HEAD} -c 1000 /dev/zero
  exec sleep 60
fi
exec {REAL_HEAD} "$@"
"""


def install_head(tools: FakeTools) -> Path:
    """Add the stand-in ``head`` to ``tools`` and return the file it records writes in."""
    path = tools.root / "bin" / "head"
    path.write_text(FAKE_HEAD)
    path.chmod(0o755)
    return tools.root / "writes"
