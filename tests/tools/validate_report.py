#!/usr/bin/python3
"""validate_report.py junit|sarif REPORT SCHEMA JSON: validates a `gcemount
check --format junit|sarif` report against its schema (xmlschema for the
JUnit XSD, jsonschema for OASIS's SARIF 2.1.0 schema) and checks it says
what the --json report of the same image says: one testcase per row and a
failure per FAIL row (JUnit), one result per FAIL row located in the image
(SARIF). Exit 0 valid, 1 not."""
import json, sys

kind, report, schema, jpath = sys.argv[1:5]
rows = json.load(open(jpath))["results"]
fails = [r for r in rows if r["status"] == "FAIL"]
if kind == "junit":
    import xmlschema
    xs = xmlschema.XMLSchema(schema)
    xs.validate(report)
    import xml.etree.ElementTree as ET
    root = ET.parse(report).getroot()
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(rows), (len(cases), len(rows))
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == len(fails), (len(failed), len(fails))
    assert int(root.get("failures")) == len(fails)
    for c, r in zip(sorted(failed, key=lambda c: c.get("name")), sorted(fails, key=lambda r: r["id"])):
        assert c.get("name") == r["id"] and r["reason"] in c.find("failure").get("message"), (c.get("name"), r)
else:
    import jsonschema
    doc = json.load(open(report))
    jsonschema.validate(doc, json.load(open(schema)))
    res = doc["runs"][0]["results"]
    assert len(res) == len(fails), (len(res), len(fails))
    ids = {d["id"] for d in doc["runs"][0]["tool"]["driver"]["rules"]}
    for x, r in zip(res, fails):
        assert x["ruleId"] == r["id"] and x["ruleId"] in ids and x["message"]["text"] == r["reason"]
        loc = x["locations"][0]["physicalLocation"]
        if r["file"]:
            assert loc["artifactLocation"]["uriBaseId"] == "IMAGEROOT"
            assert "/" + loc["artifactLocation"]["uri"] == r["file"], (loc, r)
            if r["line"]:
                assert loc["region"]["startLine"] == r["line"]
print("valid %s: %d rows, %d FAIL" % (kind, len(rows), len(fails)))
