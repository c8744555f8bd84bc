"""Items of ../shared/BAD_INPUTS.md shared by the bad-input tests (unit, AppTest and browser)."""

# Text that Markdown, HTML or a math renderer would turn into something else.
MARKUP = [
    "<b>x</b>",
    '<a href="https://example.com">x</a>',
    '<a href="javascript:alert(1)">x</a>',
    '<span style="font-size:999px">x</span>',
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "&lt;b&gt;",
    "**x**",
    "[x](javascript:alert(1))",
    "![](https://example.com/x.png)",
    "$x^2$",
]
# Text that a spreadsheet would run as a formula.
SPREADSHEET = ['=HYPERLINK("https://example.com")', "+1", "-1", "@SUM(A1)"]
