#!/usr/bin/env python3
"""Trim the official API descriptions to what the contract tests need.

    python3 tests/contract/extract.py GRAPH_CSDL AUTOTASK_SWAGGER

GRAPH_CSDL is Microsoft Graph's v1.0 CSDL ($metadata), from microsoftgraph/msgraph-metadata
(clean_v10_metadata/cleanMetadataWithDescriptionsv1.0.xml, MIT); AUTOTASK_SWAGGER is Datto's
Autotask REST v1 Swagger (https://webservices2.autotask.net/atservicesrest/swagger/docs/v1).
Writes fixtures/graph-v1.0-subset.xml and fixtures/autotask-rest-v1-subset.json beside this
script. Elements are copied verbatim (the Graph ones without their Annotation children, which
hold only descriptions): the named types, their base types, the complex and enum types their
structural properties use (transitively), and the named bound actions. Navigation targets are
not followed (the tests check navigation property names, not the target types).
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
# Every type the simulator returns or accepts (sendMail's message), and the actions it serves.
GRAPH_ROOTS = ["user", "group", "directoryRole", "managedDevice", "licenseDetails", "subscribedSku",
               "mailboxSettings", "automaticRepliesSetting", "passwordProfile", "message",
               "phoneAuthenticationMethod", "microsoftAuthenticatorAuthenticationMethod", "fido2AuthenticationMethod",
               "windowsHelloForBusinessAuthenticationMethod", "softwareOathAuthenticationMethod",
               "temporaryAccessPassAuthenticationMethod", "emailAuthenticationMethod", "passwordAuthenticationMethod",
               "oAuth2PermissionGrant", "appRoleAssignment", "drive", "driveItem", "permission", "driveRecipient"]
# Bound actions by (name, binding type): `invite` is also an action on call participants.
GRAPH_ACTIONS = [("sendMail", "user"), ("assignLicense", "user"), ("revokeSignInSessions", "user"),
                 ("retire", "managedDevice"), ("wipe", "managedDevice"), ("invite", "driveItem")]
AUTOTASK_DEFS = ["TicketModel", "ContactModel", "CompanyModel", "TicketNoteModel", "ApiVersionResultModel",
                 "ZoneInformationResultModel", "FieldInformationResultModel", "FieldInformationModel", "PickListValue",
                 "EntityInformationResultModel", "EntityInformationModel", "QueryModel", "Filter",
                 "OperationResultModel", "QueryCountResultModel"]
AUTOTASK_PATHS = ["/V1.0/ZoneInformation", "/VersionInformation", "/V1.0/Tickets", "/V1.0/Tickets/{id}",
                  "/V1.0/Tickets/query", "/V1.0/Tickets/entityInformation", "/V1.0/Tickets/entityInformation/fields",
                  "/V1.0/Tickets/{parentId}/Notes", "/V1.0/Tickets/{parentId}/Notes/{id}", "/V1.0/TicketNotes/query",
                  "/V1.0/TicketNotes/entityInformation/fields", "/V1.0/Contacts/query", "/V1.0/Contacts/{id}",
                  "/V1.0/Contacts/entityInformation", "/V1.0/Companies/query", "/V1.0/Companies/query/count",
                  "/V1.0/Companies/{id}", "/V1.0/Companies/{parentId}/Contacts"]


def graph(src, out):
    schema = next(s for s in ET.parse(src).getroot().iter(EDM + "Schema") if s.get("Namespace") == "microsoft.graph")
    by_name = {}
    for el in schema:
        if el.tag in (EDM + "EntityType", EDM + "ComplexType", EDM + "EnumType"):
            by_name[el.get("Name")] = el
    keep, todo = [], list(GRAPH_ROOTS)
    while todo:
        name = todo.pop()
        if name in keep or name not in by_name:
            continue
        keep.append(name)
        el = by_name[name]
        if el.get("BaseType"):
            todo.append(el.get("BaseType").split(".")[-1])
        for p in el.findall(EDM + "Property"):
            t = p.get("Type").removeprefix("Collection(").removesuffix(")")
            if t.startswith(("graph.", "microsoft.graph.")):
                todo.append(t.split(".")[-1])
    def binding(a):
        return a.findall(EDM + "Parameter")[0].get("Type").split(".")[-1]
    actions = [a for a in schema.findall(EDM + "Action")
               if a.get("IsBound") == "true" and (a.get("Name"), binding(a)) in GRAPH_ACTIONS]
    for a in actions:
        for p in a.findall(EDM + "Parameter")[1:]:
            t = p.get("Type").removeprefix("Collection(").removesuffix(")")
            if t.startswith(("graph.", "microsoft.graph.")) and t.split(".")[-1] not in keep:
                todo.append(t.split(".")[-1])
        while todo:
            name = todo.pop()
            if name in keep or name not in by_name:
                continue
            keep.append(name)
            for p in by_name[name].findall(EDM + "Property"):
                t = p.get("Type").removeprefix("Collection(").removesuffix(")")
                if t.startswith(("graph.", "microsoft.graph.")):
                    todo.append(t.split(".")[-1])
    ET.register_namespace("", EDM[1:-1])
    ET.register_namespace("edmx", "http://docs.oasis-open.org/odata/ns/edmx")
    root = ET.Element("{http://docs.oasis-open.org/odata/ns/edmx}Edmx", {"Version": "4.0"})
    ds = ET.SubElement(root, "{http://docs.oasis-open.org/odata/ns/edmx}DataServices")
    sc = ET.SubElement(ds, EDM + "Schema", {"Namespace": "microsoft.graph", "Alias": "graph"})
    for el in [by_name[n] for n in sorted(keep)] + actions:
        for parent in el.iter():
            for child in list(parent):
                if child.tag == EDM + "Annotation":
                    parent.remove(child)
        sc.append(el)
    ET.indent(root)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)


def autotask(src, out):
    d = json.load(open(src, encoding="utf-8-sig"))
    sub = {
        "swagger": d["swagger"], "info": d["info"], "basePath": d["basePath"],
        "paths": {p: d["paths"][p] for p in AUTOTASK_PATHS if p in d["paths"]},
        "definitions": {k: d["definitions"][k] for k in AUTOTASK_DEFS if k in d["definitions"]},
    }
    json.dump(sub, open(out, "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    graph(sys.argv[1], os.path.join(here, "graph-v1.0-subset.xml"))
    autotask(sys.argv[2], os.path.join(here, "autotask-rest-v1-subset.json"))
