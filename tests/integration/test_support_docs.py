"""The marketplace form texts in docs/marketplace.md fit the form, and the docs are linked from the README."""
import re

from tests.support import ROOT

DOCS = ROOT / "docs"


def block(name: str) -> str:
    text = (DOCS / "marketplace.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:start -->\s*```text\n(.*?)\n```\s*<!-- {name}:end -->", text, re.S)
    assert match, f"{name} block not found"
    return match.group(1)


def test_connection_instruction_fits_the_1000_character_field():
    instruction = block("connection-instruction")
    assert 300 < len(instruction) <= 1000, len(instruction)
    assert "Подключить" in instruction and "QR" in instruction and "Связать с номером телефона" in instruction


def test_payment_instruction_is_present_and_short():
    payment = block("payment-instruction")
    assert 0 < len(payment) <= 1000
    assert "бесплатн" in payment


def test_cabinet_urls_are_the_routes_we_serve():
    text = (DOCS / "marketplace.md").read_text(encoding="utf-8")
    assert "https://adminai.tech/auth/yclients/redirect" in text
    assert "https://adminai.tech/webhook/yclients" in text


def test_every_doc_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("operations.md", "support.md", "marketplace.md", "architecture.md"):
        assert (DOCS / name).exists(), name
        assert f"(docs/{name})" in readme, f"README does not link docs/{name}"


def test_operations_lists_every_setting_the_code_reads():
    from runtime import settings

    ops = (DOCS / "operations.md").read_text(encoding="utf-8")
    source = (ROOT / "runtime" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', source)) - {"production", "development"}
    missing = [name for name in sorted(names) if f"`{name}`" not in ops and name not in ops]
    assert not missing, missing
    assert settings.REQUIRED_IN_PRODUCTION
