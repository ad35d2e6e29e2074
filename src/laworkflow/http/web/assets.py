"""The front-end assets: placeholder until the install step builds them."""

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    return None
