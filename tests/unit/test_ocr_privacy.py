"""``backroom ocr`` prints no personal data: remarks with a 身份证号, a mobile or a bank account are
masked, the invoice's own identifiers are not, and the masking matches the SDK's."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from backroom.bots.sdk.masking import mask_personal as sdk_mask
from backroom.ocr.cli import ocr_command
from backroom.ocr.privacy import mask_personal, mask_tree
from backroom.sandbox.documents.einvoice import sample_invoice, write_invoice_xml

RESIDENT_ID = "11010519491231002X"  # the GB 11643 example: its check character is right
MOBILE = "13812345678"
ACCOUNT = "6222 0212 3456 7890 123"
REMARKS = f"乘车人身份证 {RESIDENT_ID} 手机 {MOBILE} 退款账户 {ACCOUNT}"


def test_shapes_are_masked_like_the_sdk_masks_them() -> None:
    samples = [REMARKS, "订单 123456789012345678", "+86 13912345678", "账号 6217000010012345678", "无"]
    for text in samples:
        assert mask_personal(text) == sdk_mask(text)
    masked = mask_personal(REMARKS)
    assert RESIDENT_ID not in masked and "110***********002X" in masked
    assert MOBILE not in masked and "138****5678" in masked
    assert "0212" not in masked and masked.endswith("***************0123")


def test_the_document_identifiers_stay_readable() -> None:
    data = {
        "file": "/in/13812345678.xml",
        "fields": {
            "number": {"value": "24312000000123456789", "confidence": 1.0},
            "buyer_tax_id": {"value": "91310115MA1H7GKX4X", "confidence": 1.0},
            "remarks": {"value": REMARKS, "confidence": 1.0},
            "items": {"value": [{"name": f"手机 {MOBILE}"}], "confidence": 1.0},
        },
    }
    masked = mask_tree(data)
    assert masked["file"] == data["file"]
    assert masked["fields"]["number"]["value"] == "24312000000123456789"
    assert masked["fields"]["buyer_tax_id"]["value"] == "91310115MA1H7GKX4X"
    assert MOBILE not in json.dumps(masked["fields"], ensure_ascii=False)


def test_backroom_ocr_prints_remarks_masked(tmp_path: Path) -> None:
    path = write_invoice_xml(tmp_path / "inv.xml", sample_invoice(remarks=REMARKS))
    for as_json in (True, False):
        out = StringIO()
        assert ocr_command([path], "rapid", as_json, out=out) == 0
        printed = out.getvalue()
        assert "退款账户" in printed  # the remarks are printed ...
        for secret in (RESIDENT_ID, MOBILE, "0212 3456"):
            assert secret not in printed  # ... without the personal data in them
    assert "24312000000123456789" in printed
