from tlcore.cli import run

run()
