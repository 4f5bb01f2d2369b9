"""The application form, field by field: every bad field is reported at once with a stable
code and a Chinese message, and nothing is stored until all of them are good. Messages never
repeat what was typed (they end up in logs and error pages)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from functions.common.errors import Validator
from functions.loan_apply.catalogue import Catalogue

LABELS = {
    "name": "姓名",
    "id_number": "身份证号码",
    "phone": "手机号码",
    "product": "申请产品",
    "amount": "申请金额",
    "term": "期限",
    "monthly_income": "月收入",
    "employment_type": "职业类型",
    "purpose": "用途",
    "city": "所在城市",
}
_NAME = re.compile(r"^[\u4e00-\u9fa5A-Za-z][\u4e00-\u9fa5A-Za-z·. ]{0,28}[\u4e00-\u9fa5A-Za-z]$")
_CITY = re.compile(r"^[\u4e00-\u9fa5]{2,20}$")
_MAX_FEN = 10**12  # ten billion yuan: anything above is a typing slip, not an amount
_TRUE = {"true", "on", "1", "yes"}


@dataclass(frozen=True)
class ApplicationInput:
    name: str
    id_number: str
    phone: str
    product: str
    amount_fen: int
    term_months: int | None
    monthly_income_fen: int
    employment_type: str
    purpose: str | None
    city: str
    consent_version: str
    birth_date: date

    def personal(self) -> dict[str, str]:
        """The fields sealed with KMS; everything else is stored as is."""
        return {"name": self.name, "id_number": self.id_number, "phone": self.phone}


def _text(form: dict, key: str) -> str:
    value = form.get(key)
    return "" if value is None else str(value).strip()


def resident_id(raw: str, v: Validator) -> tuple[str, date] | None:
    """An 18-digit resident ID with a good checksum, birth date and area code (python-stdnum)."""
    from stdnum import exceptions
    from stdnum.cn import ric

    try:
        number = ric.validate(raw)
    except exceptions.InvalidChecksum:
        v.add("id_number", "id_number_checksum", "身份证号码校验位不正确，请核对")
    except (exceptions.InvalidLength, exceptions.InvalidFormat):
        v.add("id_number", "id_number_format", "请输入18位居民身份证号码")
    except (exceptions.ValidationError, KeyError):  # stdnum 2.2 raises KeyError for a province-only match
        number = ric.compact(raw)
        if _birth_date_and_known_area(number):
            return number, ric.get_birth_date(number)
        v.add("id_number", "id_number_invalid", "身份证号码中的出生日期或地区码无效")
    else:
        return number, ric.get_birth_date(number)
    return None


def _birth_date_and_known_area(number: str) -> bool:
    """stdnum also wants the area to have existed in the birth year, but the area code is
    where the number was first issued (from 1984), so a customer born in 1960 in a district
    created later holds a real number. Accept a real date with an area code that ever existed."""
    from stdnum import exceptions, numdb
    from stdnum.cn import ric

    try:
        ric.get_birth_date(number)
    except exceptions.ValidationError:
        return False
    return any("county" in props for _part, props in numdb.get("cn/loc").info(number[:6]))


def mainland_mobile(raw: str, v: Validator) -> str | None:
    """A mainland China mobile number as 11 national digits (phonenumbers' metadata)."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        number = None
    mobile = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if (number is None or number.country_code != 86 or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in mobile):
        v.add("phone", "phone_invalid", "请输入有效的中国大陆手机号码")
        return None
    return str(number.national_number)


def yuan_to_fen(raw: str, field_name: str, v: Validator, *, allow_zero: bool = False) -> int | None:
    """`12345.6` yuan → 1234560 fen, exactly (no floats)."""
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        v.add(field_name, f"{field_name}_invalid", f"{LABELS[field_name]}请填写数字，最多两位小数")
        return None
    fen = int(value * 100)
    if fen < 0 or (fen == 0 and not allow_zero) or fen >= _MAX_FEN:
        v.add(field_name, f"{field_name}_invalid", f"{LABELS[field_name]}超出有效范围")
        return None
    return fen


def parse(form: dict, catalogue: Catalogue) -> ApplicationInput:
    """Check a submitted form (JSON or urlencoded); raises ValidationFailed with every bad field."""
    v = Validator()
    values = {key: _text(form, key) for key in LABELS}
    product = catalogue.product(values["product"])
    if product is None:
        v.add("product", "required" if not values["product"] else "product_unknown", "请选择申请产品")
        required: tuple[str, ...] = tuple(k for k in LABELS if k not in ("term", "purpose"))
    else:
        required = product.required_fields
    for key in required:
        if key != "product" and not values[key]:
            v.add(key, "required", f"请填写{LABELS[key]}")
    present = {k for k in required if values[k]}

    name = values["name"] if "name" in present else ""
    if name and not _NAME.match(name):
        v.add("name", "name_invalid", "姓名应为2至30个汉字或字母")
    id_found = resident_id(values["id_number"], v) if "id_number" in present else None
    phone = mainland_mobile(values["phone"], v) if "phone" in present else None
    amount = yuan_to_fen(values["amount"], "amount", v) if "amount" in present else None
    income = yuan_to_fen(values["monthly_income"], "monthly_income", v, allow_zero=True) \
        if "monthly_income" in present else None

    term: int | None = None
    if "term" in present:
        if values["term"].isdigit() and 0 < int(values["term"]) <= 600:
            term = int(values["term"])
        else:
            v.add("term", "term_invalid", "期限请填写月数")
    employment = values["employment_type"]
    if "employment_type" in present and employment not in catalogue.employment_types:
        v.add("employment_type", "employment_type_invalid", "请选择职业类型")
    purpose = values["purpose"] or None
    if "purpose" in present and product is not None and purpose not in product.purposes:
        v.add("purpose", "purpose_invalid", "请选择用途")
    city = values["city"]
    if "city" in present and not _CITY.match(city):
        v.add("city", "city_invalid", "所在城市请填写2至20个汉字")

    if _text(form, "consent").lower() not in _TRUE:
        v.add("consent", "consent_required", f"请阅读并同意《{catalogue.consent_title}》")
    elif _text(form, "consent_version") != catalogue.consent_version:
        v.add("consent", "consent_outdated", "授权书已更新，请刷新页面后重新阅读并同意")
    v.check()

    assert product is not None and id_found is not None and phone is not None  # v.check() above guarantees these
    assert amount is not None and income is not None
    return ApplicationInput(
        name=name,
        id_number=id_found[0],
        phone=phone,
        product=product.code,
        amount_fen=amount,
        term_months=term if product.terms_months else None,
        monthly_income_fen=income,
        employment_type=employment,
        purpose=purpose if product.purposes else None,
        city=city,
        consent_version=catalogue.consent_version,
        birth_date=id_found[1],
    )


def age_on(birth: date, today: date) -> int:
    """Age in whole years; someone born on 29 February turns a year older on 1 March."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
