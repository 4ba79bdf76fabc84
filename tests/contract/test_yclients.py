"""One contract for YCLIENTS, run against the shipped StubYclients and against the sandbox process over
real HTTP (the YclientsApi): the marketplace's install semantics and the data lists the sync reads."""

import pytest
import requests

from runtime.yclients.api import YclientsApi, pages
from runtime.yclients.client import YclientsClient
from runtime.yclients.errors import PermanentError
from runtime.yclients.stub import StubYclients
from tests.support import serve_sandbox

TOKEN = "contract-partner-token"
APP_ID = 18289
SALON, OTHER = 997441, 962302  # two of the sandbox's demo salons


class OverHttp:
    """The real API client against `python -m sandbox.yclients serve`; `press_connect` is the owner's click."""

    def __init__(self, url):
        self.url = url
        requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()
        self.api = YclientsApi(YclientsClient(url, TOKEN, partner_id="1", timeout=5, sleep=lambda s: None), APP_ID)

    def press_connect(self, *salon_ids):
        for salon_id in salon_ids:
            response = requests.get(f"{self.url}/connect", params={"salon_id": salon_id}, allow_redirects=False,
                                    timeout=5)
            assert response.status_code == 302, response.text


def seeded_stub():
    """The stub with the sandbox's two demo salons' shapes (titles, a page and a half of clients)."""
    stub = StubYclients()
    stub.load(SALON, company={"id": SALON, "title": "Салон Модератор"},
              services=[{"id": i, "title": f"Услуга {i}", "category_id": 1} for i in range(1, 13)],
              staff=[{"id": i, "name": f"Мастер {i}"} for i in range(1, 4)],
              clients=[{"id": i, "name": f"Клиент {i}", "phone": f"7900{i:07d}"} for i in range(1, 61)])
    stub.load(OTHER, company={"id": OTHER, "title": "KULTURA Малаховка"})
    return stub


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    env = {"YCLIENTS_PARTNER_TOKEN": TOKEN, "YCLIENTS_APP_ID": str(APP_ID), "YCLIENTS_RATE_LIMIT": "1000/s"}
    with serve_sandbox("yclients", "yclients-sandbox", env, tmp_path_factory.mktemp("yclients")) as url:
        yield url


@pytest.fixture(params=["stub", pytest.param("sandbox", marks=pytest.mark.integration)])
def yclients(request):
    """(the Yclients API, the owner pressing «Подключить» for some branches)"""
    if request.param == "stub":
        stub = seeded_stub()
        return stub, stub.press_connect
    remote = OverHttp(request.getfixturevalue("sandbox"))
    return remote.api, remote.press_connect


def test_a_branch_nobody_installed_is_not_installed(yclients):
    api, _ = yclients
    assert api.installation_status(SALON) == "not_installed"
    assert api.is_installed_and_active(SALON) is False


def test_connect_makes_a_branch_pending_and_the_activation_callback_makes_it_active(yclients):
    api, press_connect = yclients
    press_connect(SALON)
    assert api.installation_status(SALON) == "pending"
    reply = api.activation_callback(SALON, "k" * 32, ["https://adminai.example/webhook/yclients/x"])
    assert reply.status == 301
    assert api.installation_status(SALON) == "active" and api.is_installed_and_active(SALON)
    assert api.installation_status(OTHER) == "not_installed"  # per branch


def test_a_second_activation_is_refused_as_already_installed(yclients):
    api, press_connect = yclients
    press_connect(SALON)
    api.activation_callback(SALON, "k" * 32, ["https://adminai.example/webhook/yclients/x"])
    with pytest.raises(PermanentError) as refused:
        api.activation_callback(SALON, "k" * 32, ["https://adminai.example/webhook/yclients/x"])
    assert refused.value.status == 403 and "уже установил" in refused.value.message


def test_pressing_connect_again_on_an_active_branch_keeps_it_active(yclients):
    api, press_connect = yclients
    press_connect(SALON)
    api.activation_callback(SALON, "k" * 32, ["https://adminai.example/webhook/yclients/x"])
    press_connect(SALON)
    assert api.installation_status(SALON) == "active"


def test_a_partner_uninstall_succeeds_once_and_leaves_the_branch_uninstalled(yclients):
    api, press_connect = yclients
    press_connect(SALON)
    api.activation_callback(SALON, "k" * 32, ["https://adminai.example/webhook/yclients/x"])
    assert api.uninstall(SALON) is True
    assert api.installation_status(SALON) == "uninstalled"
    assert api.uninstall(SALON) is False


def test_the_company_card_gives_the_title_the_install_check_compares(yclients):
    api, _ = yclients
    assert api.company_title(SALON) == "Салон Модератор"
    assert api.company(SALON)["id"] == SALON


def test_the_data_lists_and_every_client_page_until_the_total(yclients):
    api, _ = yclients
    assert api.services(SALON) and all("id" in s and "title" in s for s in api.services(SALON))
    assert api.staff(SALON) and all("id" in s for s in api.staff(SALON))
    clients = [c for page in pages(lambda n: api.clients_page(SALON, n)) for c in page.items]
    first = api.clients_page(SALON, 1)
    assert first.total == len(clients) and len({c["id"] for c in clients}) == len(clients)
