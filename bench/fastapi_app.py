"""The benchmark's two endpoints on FastAPI: `GET /` and `POST /items`, with the `Item` model of
`shared/reference/params_app.py` (copied here so the benchmark runs without shared/).

Run:  uvicorn fastapi_app:app --port 8000
"""
from typing import Optional

from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI()


class Image(BaseModel):
    url: str
    name: str


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    description: Optional[str] = Field(default=None, max_length=300)
    price: float = Field(gt=0)
    tax: Optional[float] = None
    tags: list[str] = []
    images: Optional[list[Image]] = None


@app.get("/")
def root():
    return {"message": "Hello World"}


@app.post("/items", status_code=201)
def create_item(item: Item):
    result = item.model_dump()
    if item.tax is not None:
        result["price_with_tax"] = item.price + item.tax
    return result
