"""Error messages shown to a person: one line, never an HTML page an endpoint answered with."""

from __future__ import annotations

from botocore.exceptions import ClientError

from awsrespond.aws.errors import describe_error


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetContactInformation")


def test_html_error_page_is_named_not_printed() -> None:
    page = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    text = describe_error(_error("404", page))
    assert text.startswith("404: ") and "<" not in text and "\n" not in text and "HTML error page" in text


def test_messages_are_one_line_and_capped() -> None:
    text = describe_error(_error("AccessDenied", "User: arn:aws:iam::1:user/x\nis not authorized " + "x" * 1000))
    assert "\n" not in text and text.startswith("AccessDenied: User: arn:aws:iam::1:user/x is not authorized")
    assert len(text) < 330
    assert describe_error(_error("ThrottlingException", "Rate exceeded")) == "ThrottlingException: Rate exceeded"
