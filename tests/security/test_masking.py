"""Personal data and encoded secrets are masked by shape, and ordinary figures are left alone."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import pytest

from backroom.bots.sdk.masking import encoded_forms, is_resident_id, mask_personal

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example


def test_resident_id_checksum() -> None:
    assert is_resident_id(VALID_ID)
    assert not is_resident_id("110105194912310021")  # wrong check character
    assert not is_resident_id("1101051949123100")


def test_personal_data_is_masked_keeping_the_last_four() -> None:
    text = f"客户张三 身份证 {VALID_ID}，手机 13812345678，卡号 6222 0212 3456 7890 123，请回电"
    masked = mask_personal(text)
    assert VALID_ID not in masked and "110***********002X" in masked
    assert "13812345678" not in masked and "138****5678" in masked
    assert "6222021234567890123" not in masked.replace(" ", "") and "***************0123" in masked
    assert masked.startswith("客户张三 身份证") and masked.endswith("请回电")


@pytest.mark.parametrize(
    "text",
    [
        "amount 1234567.89 on 2026-11-29 20:15:00",
        "数电票号码 24442000000012345678",  # 20 digits: an invoice number, not an account
        "ticket #12345678 run 3f2a9c1d",
    ],
)
def test_ordinary_figures_are_left_alone(text: str) -> None:
    assert mask_personal(text) == text


def test_an_eighteen_digit_number_that_is_no_id_is_still_masked_as_an_account() -> None:
    assert mask_personal("110105194912310021") == "*" * 14 + "0021"


def test_mobile_with_country_code() -> None:
    assert mask_personal("+86 13912345678") == "+86 139****5678"


def test_encoded_forms_catch_url_and_basic_auth() -> None:
    secret = "s3cr3t+pa/ss=word"
    forms = encoded_forms(secret)
    assert quote_plus(secret, safe="") in forms
    for user in ("a", "ab", "abc", "operator"):
        header = base64.b64encode(f"{user}:{secret}".encode()).decode()
        assert any(form in header for form in forms), f"no form of the secret found in Basic auth for {user!r}"
    assert secret not in forms


def test_short_values_give_no_base64_core() -> None:
    assert all(len(form) >= 3 for form in encoded_forms("abcd"))
    assert not any(len(form) >= 8 and form.isalnum() for form in encoded_forms("ab"))


def test_the_run_redactor_removes_encoded_secrets_and_personal_data() -> None:
    from backroom.bots.sdk.secrets import REDACTED, SecretResolver

    resolver = SecretResolver(environ={"CRM_PASSWORD": "Tr0ub4dor&3xyz"})
    secret = resolver.resolve("env:CRM_PASSWORD")
    header = base64.b64encode(f"robot:{secret}".encode()).decode()
    line = f"GET /login?pw={quote_plus(secret)} Authorization: Basic {header} caller 13812345678"
    cleaned = resolver.redactor.redact(line)
    assert quote_plus(secret) not in cleaned and header not in cleaned and REDACTED in cleaned
    assert "13812345678" not in cleaned and "138****5678" in cleaned
