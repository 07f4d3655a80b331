"""Our staff records as SCIM 2.0 resources (RFC 7643), built with scim2-models; no database or Flask here.

Only the attributes we keep are published in /Schemas, so identity providers and compliance testers send
just those: userName (the sign-in email), name, displayName, title, active, emails, externalId and the
enterprise extension's employeeNumber, department and manager. Other attributes in a request are ignored.
"""

from dataclasses import dataclass
from datetime import datetime

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Email,
    EnterpriseUser,
    ETag,
    Filter,
    Manager,
    Meta,
    Name,
    Patch,
    Required,
    ResourceType,
    Schema,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
)

ScimUser = User[EnterpriseUser]
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONTENT_TYPE = "application/scim+json"
MAX_RESULTS = 200  # the largest page a query returns (count above it is cut, RFC 7644 §3.4.2.4)

# Entra ID and Okta send attributes we do not keep (phoneNumbers, addresses, locale...): ignored, not refused.
# Entra's PATCH `remove` with a value and filters on missing entries are read as Entra means them.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

# A PATCH names its targets: a path no model declares is a mistake to report (400 invalidPath), not to ignore.
PATCH_POLICY = POLICY.model_copy(update={"unknown": ScimPolicy.Unknown.forbid})

PUBLISHED_USER_ATTRIBUTES = {"userName", "name", "displayName", "title", "active", "emails"}
PUBLISHED_NAME_ATTRIBUTES = {"formatted", "givenName", "familyName"}
PUBLISHED_EMAIL_ATTRIBUTES = {"value", "type", "primary"}
PUBLISHED_ENTERPRISE_ATTRIBUTES = {"employeeNumber", "department", "manager"}


@dataclass(frozen=True)
class PersonView:
    """What a SCIM User shows of a person, as plain values."""

    id: int
    email: str
    name: str
    job_title: str
    active: bool
    external_id: str | None
    employee_id: str | None
    department: str | None
    manager_id: int | None
    manager_name: str | None
    created_at: datetime
    updated_at: datetime


def version(updated_at: datetime) -> str:
    """The weak ETag of a person: changes whenever their record does (RFC 7644 §3.14)."""
    return f'W/"{updated_at.timestamp():.6f}"'


def user_resource(person: PersonView, base_url: str) -> ScimUser:
    user = ScimUser(
        id=str(person.id),
        external_id=person.external_id,
        user_name=person.email,
        name=Name(formatted=person.name),
        display_name=person.name,
        title=person.job_title or None,
        active=person.active,
        emails=[Email(value=person.email, type=Email.Type.work, primary=True)],
        meta=Meta(
            resource_type="User",
            created=person.created_at,
            last_modified=person.updated_at,
            location=f"{base_url}/Users/{person.id}",
            version=version(person.updated_at),
        ),
    )
    manager = None
    if person.manager_id is not None:
        manager = Manager(
            value=str(person.manager_id), ref=f"{base_url}/Users/{person.manager_id}", display_name=person.manager_name
        )
    user[EnterpriseUser] = EnterpriseUser(
        employee_number=person.employee_id, department=person.department, manager=manager
    )
    return user


def _trimmed(schema: Schema, names: set[str], sub_attributes: dict[str, set[str]], required=frozenset()) -> Schema:
    attributes = []
    for attribute in schema.attributes:
        if attribute.name not in names:
            continue
        if attribute.name in required:
            attribute = attribute.model_copy(update={"required": Required.true})
        if attribute.name in sub_attributes and attribute.sub_attributes:
            kept = [sub for sub in attribute.sub_attributes if sub.name in sub_attributes[attribute.name]]
            attribute = attribute.model_copy(update={"sub_attributes": kept})
        attributes.append(attribute)
    return schema.model_copy(update={"attributes": attributes})


def schemas(base_url: str) -> list[Schema]:
    """The User schema and the enterprise extension, each with only the attributes we keep.

    displayName is published as required: a staff record needs a name (name.formatted or givenName also do).
    """
    user = _trimmed(
        User.to_schema(),
        PUBLISHED_USER_ATTRIBUTES,
        {"name": PUBLISHED_NAME_ATTRIBUTES, "emails": PUBLISHED_EMAIL_ATTRIBUTES},
        required={"displayName"},
    )
    enterprise = _trimmed(EnterpriseUser.to_schema(), PUBLISHED_ENTERPRISE_ATTRIBUTES, {})
    return [_located(schema, f"{base_url}/Schemas/{schema.id}") for schema in (user, enterprise)]


def resource_types(base_url: str) -> list[ResourceType]:
    user = ResourceType.from_resource(ScimUser)
    return [_located(user, f"{base_url}/ResourceTypes/{user.id}")]


def service_provider_config(base_url: str) -> ServiceProviderConfig:
    """What we support: PATCH and filters (eq on userName, externalId, emails); no bulk, sort or password."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A SCIM token an admin creates under Settings, SCIM tokens; sent as Authorization: Bearer.",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"),
    )


def _located(resource, location: str):
    meta = Meta(resource_type=type(resource).__name__, location=location)
    return resource.model_copy(update={"meta": meta})
