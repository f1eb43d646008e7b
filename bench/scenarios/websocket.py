"""TODO."""

from bench.scenarios import Ctx


def run(ctx: Ctx) -> None:
    raise NotImplementedError
