import pytest

from swarm.cli import main


@pytest.fixture
def cli(capsys):
    """Run the ``swarm`` CLI in-process: returns (exit code, stdout, stderr)."""

    def run(*argv):
        with pytest.raises(SystemExit) as exit_:
            main(list(argv))
        out = capsys.readouterr()
        return exit_.value.code, out.out, out.err

    return run
