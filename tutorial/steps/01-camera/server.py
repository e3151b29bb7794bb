"""A server for one page. The camera needs a secure page, and http://127.0.0.1 counts as
one; a page opened as a file:// does not load ES modules."""

from pathlib import Path

from flask import Flask, send_from_directory

HERE = Path(__file__).parent
app = Flask(__name__)


@app.get("/")
def index():
    return send_from_directory(HERE, "index.html")


@app.get("/<name>.js")
def script(name):
    return send_from_directory(HERE, f"{name}.js")
