"""The client's address as the audit record and the security log name it (training/client.py)."""

from flask import Flask

from training.client import client_ip

app = Flask(__name__)


def test_the_address_is_the_one_the_server_was_given():
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.10"}):
        assert client_ip() == "192.0.2.10"


def test_no_address_is_an_empty_string():
    with app.test_request_context(environ_overrides={"REMOTE_ADDR": None}):
        assert client_ip() == ""
