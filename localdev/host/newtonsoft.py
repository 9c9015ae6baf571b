"""A queue message as the Functions host's JSON library reads it, for the binding data the host promotes from it.

The host (Azure/azure-functions-host 4.1037, `Utility.ApplyBindingData`) parses a message that looks like a JSON
object with Newtonsoft.Json 13 (`JObject.Parse`) and converts each top-level property with `(string)JToken`, or
keeps a nested object as a `JObject`. So what the worker receives depends on Newtonsoft's reader (integers as
`long`, beyond that `BigInteger`; numbers with a fraction or an exponent as `double`; strings that look like ISO
or `/Date(…)/` dates as `DateTime`) and on .NET 8's formatting of those values (`Convert.ToString(value,
CultureInfo.InvariantCulture)`). This module reproduces that much, from their sources (JamesNK/Newtonsoft.Json:
`JsonTextReader.ParseReadNumber`, `DateTimeParser`, `DateTimeUtils`, `JsonReader.Push`, `JavaScriptUtils`,
`JsonConvert.ToString(double)`; dotnet/runtime: `Number.Formatting`). Pure.

Left out on purpose:
- Newtonsoft's lenient syntax (single quotes, comments, unquoted names, octal and hex numbers, trailing commas):
  a message only it can read is one the app rejects as not JSON; here it promotes nothing, where the host would
  promote its properties as strings, which the runtime never fails to read.
- The host machine's time zone: a date with an offset becomes the host's local time, and Flex Consumption runs
  on UTC, so it is converted to UTC here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

MAX_DEPTH = 64  # JsonReader.MaxDepth's default since Newtonsoft.Json 13.0.1
MAX_INTEGER_CHARACTERS = 380  # JsonTextReader.MaximumJavascriptIntegerCharacterLength: longer integers fail
TICKS_PER_SECOND = 10_000_000
MAX_TICKS = 3_155_378_975_999_999_999  # DateTime.MaxValue
UNIX_EPOCH_TICKS = 621_355_968_000_000_000
_DATE_ZERO = datetime(1, 1, 1)


class Unreadable(ValueError):
    """Newtonsoft would throw while reading the message: the host then promotes none of its properties."""


@dataclass(frozen=True)
class Integer:
    """A JSON integer as a `long` or `BigInteger`: its decimal text, which .NET writes back unchanged."""
    text: str


@dataclass(frozen=True)
class DotnetDate:
    """A `DateTime`: ticks of 100 ns since 0001-01-01, and its kind (`Utc`, `Local` or `Unspecified`)."""
    ticks: int
    kind: str

    @classmethod
    def of(cls, moment: datetime, kind: str) -> DotnetDate:
        elapsed = moment.replace(tzinfo=None) - _DATE_ZERO
        return cls((elapsed.days * 86_400 + elapsed.seconds) * TICKS_PER_SECOND + elapsed.microseconds * 10, kind)


def read_object(text: str) -> dict[str, Any] | None:
    """The top-level properties of a message `JObject.Parse` reads as an object, with Newtonsoft's value types;
    None for a message that is not one (the host's `IsJson`: `{…}` once trimmed) or that Newtonsoft cannot read."""
    trimmed = text.strip()
    if not (trimmed.startswith("{") and trimmed.endswith("}")):
        return None
    try:
        _check_depth(trimmed)
        document = json.loads(trimmed, parse_int=_integer)
        return _with_dates(document) if isinstance(document, dict) else None
    except (ValueError, OverflowError):  # Unreadable, and what json.loads raises for what it cannot parse
        return None


def as_string(value: Any) -> str | None:
    """`(string)JToken`: `Convert.ToString(value, CultureInfo.InvariantCulture)` of a scalar; None for JSON null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, Integer):
        return value.text
    if isinstance(value, float):
        return dotnet_double(value)
    if isinstance(value, DotnetDate):
        moment = _moment(value)  # the invariant culture's "G": no fraction, no zone
        return f"{moment.month:02d}/{moment.day:02d}/{moment.year:04d} {moment:%H:%M:%S}"
    return value


def as_json(value: Any) -> str:
    """`JToken.ToString(Formatting.None)`: compact JSON as Newtonsoft writes it."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quoted(name)}:{as_json(item)}" for name, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(as_json(item) for item in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Integer):
        return value.text
    if isinstance(value, float):
        text = dotnet_double(value)
        if not math.isfinite(value):
            return _quoted(text)  # FloatFormatHandling.String, the default
        return text if any(mark in text for mark in ".E") else f"{text}.0"  # JsonConvert.EnsureDecimalPlace
    if isinstance(value, DotnetDate):
        return _quoted(iso_text(value))
    return _quoted(value)


def dotnet_double(value: float) -> str:
    """`double.ToString(CultureInfo.InvariantCulture)` on .NET 8: the shortest digits that read back as the same
    double (Python's `repr` finds the same ones), in fixed notation unless the decimal point would fall more than
    max(17, digits) places right of the first digit or more than 3 places left of it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return f"{sign}0"
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    scale = len(digits) + int(exponent)  # where the decimal point falls, counted from the first digit
    if scale > max(len(digits), 17) or scale < -3:
        mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
        return f"{sign}{mantissa}E{'+' if scale - 1 >= 0 else '-'}{abs(scale - 1):02d}"
    if scale <= 0:
        return f"{sign}0.{'0' * -scale}{digits}"
    if scale >= len(digits):
        return f"{sign}{digits}{'0' * (scale - len(digits))}"
    return f"{sign}{digits[:scale]}.{digits[scale:]}"


def parse_date(text: str) -> DotnetDate | None:
    """The date `DateTimeUtils.TryParseDateTime` finds in a string value (DateParseHandling.DateTime and
    DateTimeZoneHandling.RoundtripKind, the reader's defaults), or None for an ordinary string. Raises
    `Unreadable` where .NET would throw, which fails the whole read."""
    if text.startswith("/Date(") and text.endswith(")/") and len(text) >= 9:
        return _read_microsoft_date(text)
    if 19 <= len(text) <= 40 and text[0].isdigit() and text[10] == "T":
        return _read_iso_date(text)
    return None


def _integer(literal: str) -> Integer:
    if len(literal) > MAX_INTEGER_CHARACTERS:
        raise Unreadable(f"JSON integer of {len(literal)} characters is too large to parse")
    return Integer(str(int(literal)) if literal == "-0" else literal)


def _check_depth(text: str) -> None:
    """`JsonReader.Push`: a container opened inside 64 others fails the read. Checked before `json.loads`, which
    would otherwise recurse as deep as a 64 KiB message nests."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            in_string, escaped = (escaped or char != '"'), (not escaped and char == "\\")
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise Unreadable(f"the reader's MaxDepth of {MAX_DEPTH} has been exceeded")
        elif char in "]}":
            depth -= 1


def _with_dates(value: Any) -> Any:
    if isinstance(value, str):
        return parse_date(value) or value
    if isinstance(value, dict):
        return {name: _with_dates(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_with_dates(item) for item in value]
    return value


def _read_iso_date(text: str) -> DotnetDate | None:
    """`DateTimeParser.Parse`, then `DateTimeUtils.TryParseDateTimeIso`'s conversion by zone."""
    fields = _iso_fields(text)
    if fields is None:
        return None
    year, month, day, hour, minute, second, fraction, zone, zone_hours, zone_minutes = fields
    try:
        start = datetime(year, month, day, 0 if hour == 24 else hour, minute, second)
    except ValueError:
        return None  # a day past the month's end
    ticks = DotnetDate.of(start, "Unspecified").ticks + fraction + (86_400 * TICKS_PER_SECOND if hour == 24 else 0)
    if ticks > MAX_TICKS:
        raise Unreadable("the added day is past DateTime.MaxValue")  # DateTime.AddDays throws
    offset = (zone_hours * 3600 + zone_minutes * 60) * TICKS_PER_SECOND
    if zone == "Z":
        return DotnetDate(ticks, "Utc")
    if zone == "-":
        return DotnetDate(min(ticks + offset, MAX_TICKS), "Local")
    if zone == "+":
        return DotnetDate(max(ticks - offset, 0), "Local")
    return DotnetDate(ticks, "Unspecified")


def _iso_fields(text: str) -> tuple[int, int, int, int, int, int, int, str, int, int] | None:
    """`DateTimeParser.Parse`, quirks kept: two digits after the seconds with no sign (`…:1205`) parse as a zone's
    minutes and are then ignored, as there."""
    def two_digits(start: int, width: int = 2) -> int | None:
        part = text[start:start + width]
        return int(part) if len(part) == width and all("0" <= c <= "9" for c in part) else None

    year, month, day = two_digits(0, 4), two_digits(5), two_digits(8)
    hour, minute, second = two_digits(11), two_digits(14), two_digits(17)
    if year is None or month is None or day is None or hour is None or minute is None or second is None \
            or (text[4], text[7], text[13], text[16]) != tuple("--::"):
        return None
    if not (1 <= year and 1 <= month <= 12 and 1 <= day and hour <= 24 and minute < 60 and second < 60) \
            or (hour == 24 and (minute or second)):
        return None
    position, fraction = 19, 0
    if text[position:position + 1] == ".":
        digits = ""
        for char in text[position + 1:position + 8]:
            if not "0" <= char <= "9":
                break
            digits += char
        if not digits or (hour == 24 and int(digits)):
            return None
        fraction, position = int(digits.ljust(7, "0")), position + 1 + len(digits)
    zone, zone_hours, zone_minutes = "", 0, 0
    if position < len(text):
        if text[position] in "Zz":
            zone, position = "Z", position + 1
        else:
            signed_hours = two_digits(position + 1) if position + 2 < len(text) else None
            if signed_hours is not None and text[position] in "+-":
                zone, zone_hours, position = text[position], signed_hours, position + 3
            if position < len(text):
                position += text[position] == ":"
                minutes = two_digits(position) if position + 1 < len(text) else None
                if minutes is not None:
                    zone_minutes, position = minutes, position + 2
    if position != len(text):
        return None
    return year, month, day, hour, minute, second, fraction, zone, zone_hours, zone_minutes


_SIGNED_DIGITS = re.compile(r"-?[0-9]+")  # what ConvertUtils.Int32TryParse and Int64TryParse take


def _read_microsoft_date(text: str) -> DotnetDate | None:
    """`DateTimeUtils.TryParseMicrosoftDate`: `/Date(milliseconds)/`, or with an offset after them (`+HH`, then
    two more digits when anything follows, read and then ignored): an instant, local when it carries an offset."""
    plus = text.find("+", 7, len(text) - 1)
    sign_at = plus if plus != -1 else text.find("-", 7, len(text) - 1)
    if sign_at != -1:
        hours, minutes = text[sign_at + 1:sign_at + 3], text[sign_at + 3:sign_at + 5]
        if not (len(hours) == 2 and _SIGNED_DIGITS.fullmatch(hours)) \
                or (len(text) - sign_at > 5 and not (len(minutes) == 2 and _SIGNED_DIGITS.fullmatch(minutes))):
            return None
    milliseconds = text[6:sign_at if sign_at != -1 else len(text) - 2]
    if not _SIGNED_DIGITS.fullmatch(milliseconds) or not -2**63 <= int(milliseconds) < 2**63:
        return None
    ticks = int(milliseconds) * 10_000 + UNIX_EPOCH_TICKS
    if not 0 <= ticks <= MAX_TICKS:
        raise Unreadable("the date is outside DateTime's range")  # new DateTime(ticks) throws
    return DotnetDate(ticks, "Utc" if sign_at == -1 else "Local")


def iso_text(value: DotnetDate) -> str:
    """`DateTimeUtils.WriteDateTimeString` in ISO format: seven fraction digits at most, trailing zeros dropped;
    `Z` for UTC, the local offset (UTC's, here) for local, nothing for unspecified."""
    moment = _moment(value)
    fraction = f"{value.ticks % TICKS_PER_SECOND:07d}".rstrip("0")
    zone = {"Utc": "Z", "Local": "+00:00"}.get(value.kind, "")
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}" + (f".{fraction}" if fraction else "") + zone


def _moment(value: DotnetDate) -> datetime:
    return _DATE_ZERO + timedelta(microseconds=value.ticks // 10)


def _quoted(text: str) -> str:
    """A JSON string as `JavaScriptUtils.WriteEscapedJavaScriptString` writes it with double quotes."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char in _SHORT_ESCAPES:
            escaped.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x20 or char in "\u0085\u2028\u2029":
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\b": "\\b"}
