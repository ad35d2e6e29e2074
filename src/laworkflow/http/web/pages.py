"""The pages: placeholder."""

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    return None
