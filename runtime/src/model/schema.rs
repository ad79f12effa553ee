//! Typed schemas of the API's documents: the component schemas of the OpenAPI document, and typed
//! views of stored and returned documents.
//!
//! They mirror the checks of [`super`] (which fields exist, which are required, their enums), and
//! the tests below keep them in step. Documents are open: fields the server does not know are kept,
//! so every document (and every block inside one) collects them in `extra` and its schema allows
//! additional properties. An optional field that is `null` counts as absent, so optional fields are
//! nullable.
//!
//! Secrets (see [`crate::secrets`]) are write-only: responses show `"******"`, and sending
//! `"******"` back in a PUT keeps the stored value. The server's fields (`_id`, `createdAt`,
//! `lastModified`) are read-only: the server ignores them in request bodies.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

use super::check::Problem;
use crate::secrets::{ENVELOPE, MASK};

/// Pattern of a resource id (`util::is_id`).
pub const ID_PATTERN: &str = "^[0-9a-f]{24}$";

/// A secret value: the plain value when a client writes it, [`MASK`] in responses (and in a write
/// that keeps the stored value), and a sealed envelope `{"$secret": ...}` at rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub Value);

impl Secret {
    /// Whether this is the mask responses show (or a write sends to keep the stored value).
    pub fn is_masked(&self) -> bool {
        self.0.as_str() == Some(MASK)
    }

    /// Whether this is a sealed envelope, as stored.
    pub fn is_sealed(&self) -> bool {
        self.0
            .as_object()
            .is_some_and(|o| o.len() == 1 && o.contains_key(ENVELOPE))
    }
}

/// The schema of a secret object (`wrapper.encrypted`): an object when written, `"******"` in
/// responses.
fn secret_object() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::String, Type::Null]))
            .write_only(Some(true))
            .description(Some(
                "Secret settings of the wrapper (any JSON object), handed to its functions. Secret: \
                 write-only; responses show \"******\"; sending \"******\" back keeps the stored value.",
            ))
            .build(),
    )
}

// ---------------------------------------------------------------------------------------------
// Shared blocks

/// An extension function to call at one stage of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    /// The stack holding the function.
    #[serde(rename = "_stackId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub stack_id: String,
    /// Name of the function in the stack.
    pub function: String,
    /// Any JSON, passed to the function as `configuration`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Value>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameValue {
    /// Header name.
    pub name: String,
    /// Header value (handlebars templates allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Format of a file export or import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// Comma-separated values.
    Csv,
    /// JSON.
    Json,
    /// XML.
    Xml,
}

/// Type of a mapped value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// A string.
    String,
    /// A number.
    Number,
    /// A boolean.
    Boolean,
    /// A date.
    Date,
    /// An array of strings.
    StringArray,
    /// An array of numbers.
    NumberArray,
    /// An array of booleans.
    BooleanArray,
    /// An object.
    Object,
    /// An array of objects.
    ObjectArray,
}

/// One mapped field: where its value comes from (`extract` or `hardCodedValue`) and where it goes
/// (`generate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappingField {
    /// Path of the source field in the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
    /// A constant value, instead of `extract`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_coded_value: Option<Value>,
    /// Path of the field to write in the mapped record.
    pub generate: String,
    /// Type to convert the value to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataType>,
    /// Value used when the source field is missing.
    #[serde(rename = "default", skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A mapped list: an array field of the mapped record, built from its own field mappings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappingList {
    /// Path of the array to write in the mapped record.
    pub generate: String,
    /// Mappings of the fields of each item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<MappingField>>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How an import turns each record into what it sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    /// Field mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<MappingField>>,
    /// List (array) mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lists: Option<Vec<MappingList>>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Connections

/// Type of a connection (`http` is an alias of `rest`); the block of the same name holds its
/// details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionType {
    /// A REST/HTTP API (block `rest`).
    Rest,
    /// Alias of `rest` (block `http`).
    Http,
    /// An FTP, FTPS or SFTP server (block `ftp`).
    Ftp,
    /// Amazon S3 or an S3-compatible store (block `s3`).
    S3,
    /// A NetSuite account (block `netsuite`).
    Netsuite,
    /// Extension code in a stack (block `wrapper`).
    Wrapper,
}

/// Media type of request and response bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RestMediaType {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Urlencoded,
    /// `application/xml`.
    Xml,
}

/// How requests authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RestAuthType {
    /// HTTP basic authentication (`basicAuth`).
    Basic,
    /// A bearer token (`bearerToken`, `tokenLocation`, `tokenParam`).
    Token,
    /// OAuth 2.0 client credentials (`oauth2`).
    Oauth2,
    /// Custom headers (`headers`).
    Custom,
    /// A session cookie.
    Cookie,
    /// A JSON Web Token.
    Jwt,
}

/// Where a token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RestTokenLocation {
    /// In the `Authorization` header.
    Header,
    /// In a query parameter named `tokenParam`.
    Url,
}

/// Method of the ping request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RestPingMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// HEAD.
    Head,
}

/// Basic authentication credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password. Secret: write-only; responses show "******"; sending "******" back keeps the
    /// stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub password: Option<Secret>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// OAuth 2.0 credentials of a REST connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestOAuth2 {
    /// Client secret. Secret: write-only; responses show "******"; sending "******" back keeps
    /// the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub client_secret: Option<Secret>,
    /// Current access token. Secret: write-only; responses show "******"; sending "******" back
    /// keeps the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub access_token: Option<Secret>,
    /// Refresh token. Secret: write-only; responses show "******"; sending "******" back keeps the
    /// stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub refresh_token: Option<Secret>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Details of a `rest` (or `http`) connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestConnection {
    /// Absolute `http://` or `https://` URL that relative URIs are resolved against.
    #[serde(rename = "baseURI")]
    #[schema(format = "uri")]
    pub base_uri: String,
    /// Media type of request and response bodies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<RestMediaType>,
    /// How requests authenticate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<RestAuthType>,
    /// Credentials of `basic` authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Token of `token` authentication. Secret: write-only; responses show "******"; sending
    /// "******" back keeps the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub bearer_token: Option<Secret>,
    /// Where the token goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_location: Option<RestTokenLocation>,
    /// Query parameter carrying the token when `tokenLocation` is `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_param: Option<String>,
    /// OAuth 2.0 credentials of `oauth2` authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<RestOAuth2>,
    /// Headers sent with every request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<NameValue>>,
    /// Path (relative to `baseURI`) requested to test the connection.
    #[serde(rename = "pingRelativeURI", skip_serializing_if = "Option::is_none")]
    pub ping_relative_uri: Option<String>,
    /// Method of the ping request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_method: Option<RestPingMethod>,
    /// Most requests in flight at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100)]
    pub concurrency_level: Option<i64>,
    /// The iClient holding the OAuth client credentials.
    #[serde(rename = "_iClientId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub iclient_id: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Protocol of an `ftp` connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FtpType {
    /// Plain FTP.
    Ftp,
    /// FTP over TLS.
    Ftps,
    /// SSH file transfer.
    Sftp,
}

/// Details of an `ftp` connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FtpConnection {
    /// Host name of the server.
    #[serde(rename = "hostURI")]
    pub host_uri: String,
    /// Port (default of the protocol when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<i64>,
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password. Secret: write-only; responses show "******"; sending "******" back keeps the
    /// stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub password: Option<Secret>,
    /// Private key (SFTP). Secret: write-only; responses show "******"; sending "******" back
    /// keeps the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub private_key: Option<Secret>,
    /// Passphrase of the private key. Secret: write-only; responses show "******"; sending
    /// "******" back keeps the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub passphrase: Option<Secret>,
    /// Protocol.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<FtpType>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Details of an `s3` connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Connection {
    /// Access key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret access key. Secret: write-only; responses show "******"; sending "******" back keeps
    /// the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub secret_access_key: Option<Secret>,
    /// Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Absolute http(s) URL of an S3-compatible store (instead of AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    pub endpoint: Option<String>,
    /// Bucket listed to test the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_bucket: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Details of a `netsuite` connection (token-based authentication).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetSuiteConnection {
    /// NetSuite account id.
    pub account: String,
    /// Token id. Secret: write-only; responses show "******"; sending "******" back keeps the
    /// stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub token_id: Option<Secret>,
    /// Token secret. Secret: write-only; responses show "******"; sending "******" back keeps the
    /// stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub token_secret: Option<Secret>,
    /// Password. Secret: write-only; responses show "******"; sending "******" back keeps the
    /// stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub password: Option<Secret>,
    /// Consumer key of the integration record (else the iClient's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_key: Option<String>,
    /// Consumer secret of the integration record (else the iClient's). Secret: write-only;
    /// responses show "******"; sending "******" back keeps the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub consumer_secret: Option<Secret>,
    /// The iClient holding the consumer key and secret (used when the connection has none).
    #[serde(rename = "_iClientId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub iclient_id: Option<String>,
    /// Absolute http(s) URL overriding the account's API addresses (REST web services and
    /// RESTlets alike).
    #[serde(rename = "baseURI", skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    pub base_uri: Option<String>,
    /// Most requests in flight at once (default 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100)]
    pub concurrency_level: Option<i64>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Details of a `wrapper` connection: extension code does the talking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WrapperConnection {
    /// The stack holding the wrapper's functions.
    #[serde(rename = "_stackId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub stack_id: String,
    /// Function called to test the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_function: Option<String>,
    /// Settings of the wrapper (any JSON object), handed to its functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unencrypted: Option<Map<String, Value>>,
    /// Secret settings of the wrapper (any JSON object), handed to its functions. Secret:
    /// write-only; responses show "******"; sending "******" back keeps the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = secret_object)]
    pub encrypted: Option<Secret>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Credentials and access details for one application. `type` says which block holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Type of the connection; the block of the same name is required.
    #[serde(rename = "type")]
    pub kind: ConnectionType,
    /// The integration the connection belongs to.
    #[serde(rename = "_integrationId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub integration_id: Option<String>,
    /// The connector that manages the connection.
    #[serde(rename = "_connectorId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connector_id: Option<String>,
    /// Details of a `rest` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest: Option<RestConnection>,
    /// Details of an `http` connection (same fields as `rest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<RestConnection>,
    /// Details of an `ftp` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ftp: Option<FtpConnection>,
    /// Details of an `s3` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Connection>,
    /// Details of a `netsuite` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netsuite: Option<NetSuiteConnection>,
    /// Details of a `wrapper` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<WrapperConnection>,
    /// When the connection was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the connection was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Exports

/// Which records an export pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportType {
    /// Records changed since the last successful run (`delta.dateField`).
    Delta,
    /// Records not exported yet, marked once exported (`once.booleanField`).
    Once,
    /// A few records, for testing (`test.limit`).
    Test,
    /// Records pushed to the export's webhook.
    Webhook,
    /// Files as they are, without parsing.
    Blob,
}

/// Settings of a `delta` export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportDelta {
    /// Field holding each record's last modification date.
    pub date_field: String,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Settings of a `once` export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportOnce {
    /// Boolean field marking the records already exported.
    pub boolean_field: String,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Settings of a `test` export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportTest {
    /// Most records to pull.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How an export parses the files it reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportFile {
    /// Format of the files; the parse options are the other fields of this block.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<FileType>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Hooks of an export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportHooks {
    /// Called with each page of records before it is passed on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_save_page: Option<Hook>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Pulls data out of an application, through a connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The connection to pull through.
    #[serde(rename = "_connectionId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connection_id: Option<String>,
    /// The integration the export belongs to.
    #[serde(rename = "_integrationId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub integration_id: Option<String>,
    /// The connector that manages the export.
    #[serde(rename = "_connectorId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connector_id: Option<String>,
    /// Which records to pull; absent: all of them.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ExportType>,
    /// Settings of a `delta` export (required when `type` is `delta`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<ExportDelta>,
    /// Settings of a `once` export (required when `type` is `once`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub once: Option<ExportOnce>,
    /// Settings of a `test` export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<ExportTest>,
    /// Records per page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10000, default = 20)]
    pub page_size: Option<i64>,
    /// What to request from a `rest` connection (relative URI, method, paging...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest: Option<Map<String, Value>>,
    /// What to request from an `http` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Map<String, Value>>,
    /// Which files to read from an `ftp` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ftp: Option<Map<String, Value>>,
    /// Which objects to read from an `s3` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<Map<String, Value>>,
    /// What to read from a `netsuite` connection (saved search, record type, RESTlet...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netsuite: Option<Map<String, Value>>,
    /// What to ask a `wrapper` connection's functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<Map<String, Value>>,
    /// How to parse the files read (file sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<ExportFile>,
    /// Transformation applied to each record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<Map<String, Value>>,
    /// Filter selecting the records to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Map<String, Value>>,
    /// Extension functions called during the export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks: Option<ExportHooks>,
    /// When the export was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the export was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Imports

/// The files an import writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportFile {
    /// Output format.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<FileType>,
    /// Write one file per page instead of one file per run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_aggregation: Option<bool>,
    /// File name template, e.g. `file-{{timestamp}}.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Hooks of an import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportHooks {
    /// Called with each page of records before mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_map: Option<Hook>,
    /// Called with the mapped records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_map: Option<Hook>,
    /// Called with the results of each submitted page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_submit: Option<Hook>,
    /// Called once the aggregated file is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_aggregate: Option<Hook>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Puts data into an application, through a connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Import {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The connection to write through.
    #[serde(rename = "_connectionId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connection_id: Option<String>,
    /// The integration the import belongs to.
    #[serde(rename = "_integrationId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub integration_id: Option<String>,
    /// The connector that manages the import.
    #[serde(rename = "_connectorId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connector_id: Option<String>,
    /// How each record is turned into what is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Mapping>,
    /// What to send to a `rest` connection (relative URI, method, body template...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest: Option<Map<String, Value>>,
    /// What to send to an `http` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Map<String, Value>>,
    /// Where to write files on an `ftp` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ftp: Option<Map<String, Value>>,
    /// Where to write objects on an `s3` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<Map<String, Value>>,
    /// What to write to a `netsuite` connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netsuite: Option<Map<String, Value>>,
    /// What to hand a `wrapper` connection's functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<Map<String, Value>>,
    /// The files to write (file destinations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<ImportFile>,
    /// Extension functions called during the import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks: Option<ImportHooks>,
    /// Skip records that already exist in the destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_existing: Option<bool>,
    /// Skip records that do not exist in the destination (updates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_missing: Option<bool>,
    /// When the import was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the import was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Flows

/// An export that generates the pages of an orchestrated flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageGenerator {
    /// The export.
    #[serde(rename = "_exportId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub export_id: String,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a page processor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PageProcessorType {
    /// A lookup export (`_exportId`).
    Export,
    /// An import (`_importId`).
    Import,
}

/// How a page processor's response is merged back into the records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseMapping {
    /// Field mappings from the response into each record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<MappingField>>,
    /// List (array) mappings from the response into each record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lists: Option<Vec<MappingList>>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Hooks of a page processor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageProcessorHooks {
    /// Called with the records once the response mapping is applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_response_map: Option<Hook>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One step run on every page of an orchestrated flow: a lookup export or an import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageProcessor {
    /// What the step runs.
    #[serde(rename = "type")]
    pub kind: PageProcessorType,
    /// The lookup export (required when `type` is `export`).
    #[serde(rename = "_exportId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub export_id: Option<String>,
    /// The import (required when `type` is `import`).
    #[serde(rename = "_importId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub import_id: Option<String>,
    /// Go on with the next steps for records this step failed on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proceed_on_failure: Option<bool>,
    /// How the step's response is merged back into the records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mapping: Option<ResponseMapping>,
    /// Extension functions called after this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks: Option<PageProcessorHooks>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An export linked to one or more imports: either a simple flow (`_exportId` + `_importId`) or
/// an orchestrated one (`pageGenerators` + `pageProcessors`), not both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The integration the flow belongs to.
    #[serde(rename = "_integrationId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub integration_id: Option<String>,
    /// The connector that manages the flow.
    #[serde(rename = "_connectorId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connector_id: Option<String>,
    /// A disabled flow neither runs on schedule nor on request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Do not keep retry data for failed records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_retries: Option<bool>,
    /// The export of a simple flow.
    #[serde(rename = "_exportId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub export_id: Option<String>,
    /// The import of a simple flow.
    #[serde(rename = "_importId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub import_id: Option<String>,
    /// The exports generating the pages of an orchestrated flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_generators: Option<Vec<PageGenerator>>,
    /// The steps run on every page of an orchestrated flow, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_processors: Option<Vec<PageProcessor>>,
    /// Cron expression of six fields, seconds first, `?` allowed (e.g. `? 0 2 ? * *`); at most
    /// once a minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// IANA time zone of the schedule (e.g. `Europe/Paris`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Flows to run when this one completes.
    #[serde(rename = "_runNextFlowIds", skip_serializing_if = "Option::is_none")]
    pub run_next_flow_ids: Option<Vec<String>>,
    /// When the flow was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the flow was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Integrations

/// Where a connector's installed integration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationMode {
    /// Being installed (steps of `install` remain).
    Install,
    /// Installed; its settings can be edited.
    Settings,
    /// Being uninstalled.
    Uninstall,
}

/// One step of a connector's installation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallStep {
    /// Name of the step.
    pub name: String,
    /// What the step does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the step is done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    /// Connector function run by the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installer_function: Option<String>,
    /// Connector function undoing the step on uninstall.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninstaller_function: Option<String>,
    /// The connection the step configures.
    #[serde(rename = "_connectionId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connection_id: Option<String>,
    /// Image shown with the step.
    #[serde(rename = "imageURL", skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Page where the user completes the step.
    #[serde(rename = "installURL", skip_serializing_if = "Option::is_none")]
    pub install_url: Option<String>,
    /// Why the step's function failed the last time it ran (set by the platform; removed when
    /// the step succeeds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub error: Option<Problem>,
    /// Whether the step's `uninstallerFunction` ran (set by the platform during an uninstall).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub uninstalled: Option<bool>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A group of flows (a tile on the dashboard); for an installed connector, its installation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The connector installed (connector integrations only).
    #[serde(rename = "_connectorId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connector_id: Option<String>,
    /// The license an install from the marketplace holds (in the publisher's account), set by
    /// the platform.
    #[serde(rename = "_licenseId", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub license_id: Option<String>,
    /// Where the installation stands (connector integrations only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<IntegrationMode>,
    /// Configuration of the installed app (connector integrations only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Map<String, Value>>,
    /// Installed version of the connector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether a connector update is being applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_in_progress: Option<bool>,
    /// Installation steps (connector integrations only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<Vec<InstallStep>>,
    /// When the integration was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the integration was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Connectors and licenses

/// A marketplace app: its listing and the functions that install, update and uninstall it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Name of the app.
    pub name: String,
    /// Description shown in the marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Logo.
    #[serde(rename = "imageURL", skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Web site of the app.
    #[serde(rename = "websiteURL", skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// Support contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// Short unique handle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Whether the app is listed in the marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
    /// Whether installs are managed by the connector (licensed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// Applications the app connects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    /// The stack holding the connector's functions.
    #[serde(rename = "_stackId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub stack_id: Option<String>,
    /// Function run when an account installs the app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installer_function: Option<String>,
    /// Function run when an update is pushed to installs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_function: Option<String>,
    /// Function run before an install is removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_uninstall_function: Option<String>,
    /// Function run to remove an install.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninstaller_function: Option<String>,
    /// Function run for installs started outside the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_installer_function: Option<String>,
    /// Function run when a license's edition (`opts.edition`) changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_edition_function: Option<String>,
    /// `formInit` function building an install's settings form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_init_function: Option<String>,
    /// `persistSettings` function checking settings before they are saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persist_settings_function: Option<String>,
    /// `refreshMetadata` function refreshing a settings field's choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_metadata_function: Option<String>,
    /// `getMappingMetadata` function telling which mappings are required or fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub get_mapping_metadata_function: Option<String>,
    /// iClients of the connector by name, copied into each install.
    #[serde(rename = "_iClientIdMap", skip_serializing_if = "Option::is_none")]
    pub iclient_id_map: Option<Map<String, Value>>,
    /// When the connector was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the connector was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The account a license is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseUser {
    /// Email of the account; an account must have it.
    pub email: String,
    /// Id of the account, once it installed the connector.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name of the account, once it installed the connector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A license to install a connector, for one account (by email). A request names the account with
/// `user.email` or with `email`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// The account licensed (`user.email` is required unless `email` is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<LicenseUser>,
    /// Shorthand for `user.email` in requests: the server moves it there. An unknown email is a
    /// 422 `invalid_user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(write_only)]
    pub email: Option<String>,
    /// When the license expires (ISO-8601 date-time).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub expires: Option<String>,
    /// Licensed options, e.g. the edition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opts: Option<Map<String, Value>>,
    /// The integration installed with this license (in the installing account), set by the
    /// platform on install and removed on uninstall.
    #[serde(rename = "_integrationId", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub integration_id: Option<String>,
    /// The connector licensed (the one of the route), set by the server.
    #[serde(rename = "_connectorId", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub connector_id: Option<String>,
    /// When the license was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the license was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One install of a connector, as `GET /v1/connectors/{_id}/installBase` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallBaseEntry {
    /// The integration of the install.
    #[serde(rename = "_integrationId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub integration_id: String,
    /// The license the install holds (installs from the marketplace; absent for the publisher's
    /// own integrations of the connector).
    #[serde(rename = "_licenseId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub license_id: Option<String>,
    /// Email of the installing account.
    #[schema(required = true)]
    pub email: Option<String>,
    /// Name of the integration.
    #[schema(required = true)]
    pub name: Option<String>,
    /// Installed version.
    #[schema(required = true)]
    pub version: Option<String>,
    /// Where the installation stands.
    #[schema(required = true)]
    pub mode: Option<IntegrationMode>,
    /// Whether an update is being applied.
    pub update_in_progress: bool,
}

// ---------------------------------------------------------------------------------------------
// The marketplace

/// A published connector as every account sees it in the marketplace: its listing only (never
/// its functions, stack or install base).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceConnector {
    /// Id of the connector (what `POST /v1/connectors/{_id}/install` takes).
    #[serde(rename = "_id")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    /// Name of the app.
    pub name: String,
    /// Description shown in the marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Logo.
    #[serde(rename = "imageURL", skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Web site of the app.
    #[serde(rename = "websiteURL", skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// Support contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// Short unique handle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Applications the app connects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    /// Whether installs are managed by the connector (licensed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// Always true here: only published connectors are listed.
    pub published: bool,
    /// When the connector was created (ISO-8601, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the listing last changed (ISO-8601, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
}

/// `POST /v1/connectors/{_id}/install`: an optional name for the new integration (default: the
/// connector's name). The body may be empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstallRequest {
    /// Name of the integration the install creates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `POST /v1/integrations/{_id}/install/{stepIndex}`: what the user gives the step. The step's
/// `installerFunction` receives `_connectionId` (connection steps) and `formSubmission` (form
/// steps: the `formSubmission` field, else every other field of the body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StepSubmission {
    /// The connection a connection step is completed with.
    #[serde(rename = "_connectionId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub connection_id: Option<String>,
    /// What the user submitted on a form step.
    #[serde(rename = "formSubmission", skip_serializing_if = "Option::is_none")]
    pub form_submission: Option<Map<String, Value>>,
    /// Other fields: the form submission when `formSubmission` is absent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT /v1/integrations/{_id}/settings`: the changed settings, by (dotted) key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SettingsUpdate {
    /// Changed key/values (`{"general.pageSize": 50}`); the connector's `persistSettings`
    /// checks them and what it returns is saved to the integration's `settings`.
    pub pending: Map<String, Value>,
}

/// One field of a settings form (what `formInit` returns, what `refreshMetadata` refreshes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsField {
    /// Key under which the value is saved.
    pub id: String,
    /// `text`, `number`, `checkbox`, `select`, `multiselect` or `textarea`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Label shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Current value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Choices of select fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Value>>,
    /// Whether a value is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Help shown next to the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One section of a settings form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SettingsSection {
    /// Section title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its fields.
    pub fields: Vec<SettingsField>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /v1/integrations/{_id}/settings/form`: the form the connector's `formInit` built.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SettingsForm {
    /// The sections, in order.
    #[serde(default)]
    pub sections: Vec<SettingsSection>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT /v1/connectors/{_id}/update`: the installs to update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdatePush {
    /// Integrations (installs of this connector, in any account); absent: every install.
    #[serde(rename = "_integrationIds", skip_serializing_if = "Option::is_none")]
    pub integration_ids: Option<Vec<String>>,
}

/// The outcome of an update push for one install.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOutcome {
    /// The install.
    #[serde(rename = "_integrationId")]
    pub integration_id: String,
    /// Whether the `updateFunction` ran to its end.
    pub success: bool,
    /// The install's version afterwards (what the `updateFunction` set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why the update failed (the function's error, or why it could not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<Problem>>,
    /// Log lines the `updateFunction` wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<Vec<LogLine>>,
}

/// `POST /v1/integrations/{_id}/uninstall`: what the uninstall removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UninstallResult {
    /// The integration uninstalled (now deleted).
    #[serde(rename = "_integrationId")]
    pub integration_id: String,
    /// Ids of the deleted documents, by collection (`integrations`, `flows`, `exports`,
    /// `imports`, `connections`, `jobs`, …).
    pub deleted: std::collections::BTreeMap<String, Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// iClients, templates, stacks

/// OAuth 2.0 settings of an iClient.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IClientOAuth2 {
    /// Client secret. Secret: write-only; responses show "******"; sending "******" back keeps
    /// the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub client_secret: Option<Secret>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// OAuth 1.0 settings of an iClient.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IClientOAuth1 {
    /// Consumer secret. Secret: write-only; responses show "******"; sending "******" back keeps
    /// the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub consumer_secret: Option<Secret>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// OAuth or app client credentials, shared by connections (`_iClientId`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IClient {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Application the credentials are for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret. Secret: write-only; responses show "******"; sending "******" back keeps
    /// the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub client_secret: Option<Secret>,
    /// Consumer key (NetSuite token-based authentication).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_key: Option<String>,
    /// Consumer secret. Secret: write-only; responses show "******"; sending "******" back keeps
    /// the stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Password, write_only)]
    pub consumer_secret: Option<Secret>,
    /// OAuth 2.0 settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<IClientOAuth2>,
    /// OAuth 1.0 settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth1: Option<IClientOAuth1>,
    /// When the iClient was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the iClient was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A marketplace listing of an unmanaged template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Name of the template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description shown in the marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Applications the template connects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    /// Whether the template is listed in the marketplace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
    /// When the template was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the template was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Kind of extension code a stack holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StackType {
    /// One WebAssembly component.
    Wasm,
}

/// Where extension code lives (hooks, wrappers, connector functions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    /// Id, set by the server.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of code the stack holds.
    #[serde(rename = "type")]
    pub kind: StackType,
    /// Limits of every call of the stack's functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<StackLimits>,
    /// The uploaded component, set by the server on `PUT /v1/stacks/{_id}/component`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub component: Option<StackComponent>,
    /// When the stack was created (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the stack was last changed (ISO-8601, UTC), set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Limits of every call of a stack's functions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StackLimits {
    /// Linear memory a call may use, in MiB (default 64, at most 512).
    #[serde(rename = "memoryMiB", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 512)]
    pub memory_mib: Option<u64>,
    /// Deadline of a call in seconds (default 60, at most 900).
    #[serde(rename = "timeoutSeconds", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 900)]
    pub timeout_seconds: Option<u64>,
    /// Largest result of a call, in MiB (default 16).
    #[serde(rename = "outputMiB", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 64)]
    pub output_mib: Option<u64>,
    /// Fuel of a call, for deterministic runs (unmetered when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub fuel: Option<u64>,
}

/// The component uploaded to a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackComponent {
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// WIT package the component targets (`integrator:extension`).
    pub wit_package: String,
    /// Version of the WIT package.
    pub wit_version: String,
    /// Function names by kind (`preSavePage`, `ping`, `installer`, `formInit`, …).
    pub functions: Map<String, Value>,
    /// When it was uploaded.
    #[schema(format = DateTime)]
    pub uploaded_at: String,
}

/// `POST /v1/stacks/{_id}/invoke`: one call of a function of the stack's component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invocation {
    /// Kind of function: `preSavePage`, `preMap`, `postMap`, `postSubmit`, `postResponseMap`,
    /// `postAggregate`, `ping`, `export`, `import`, `installer`, `update`, `preUninstall`,
    /// `uninstaller`, `changeEdition`, `initChild`, `formInit`, `persistSettings`, `preSave`,
    /// `refreshMetadata`, `getMappingMetadata`.
    pub kind: String,
    /// The function's name.
    pub function: String,
    /// The options object; the platform fills `bearerToken` and the common options. With
    /// `_connectorId`, the call's token is limited to that connector's resources.
    #[serde(default)]
    pub options: Map<String, Value>,
    /// Hosts a wrapper function may send HTTP requests to during this call.
    #[serde(
        rename = "allowedHosts",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_hosts: Vec<String>,
}

/// One guest log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// What an invocation returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvocationResult {
    /// The function's result (validated for its kind).
    pub result: Value,
    /// Log lines the call wrote.
    pub logs: Vec<LogLine>,
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// What a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    /// A flow run (parent of its export and import jobs).
    Flow,
    /// An export, within a flow run or standalone.
    Export,
    /// An import, within a flow run or standalone.
    Import,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting to start (e.g. while another run of the flow is running).
    Queued,
    /// Running.
    Running,
    /// Ended; some records may still have failed (`numError`).
    Completed,
    /// Ended without completing.
    Failed,
    /// Cancel requested; stopping.
    Cancelling,
    /// Cancelled.
    Cancelled,
}

/// The execution state of a flow run, or of one export or import within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Id of the job.
    #[serde(rename = "_id")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    /// What the job runs.
    #[serde(rename = "type")]
    pub kind: JobType,
    /// Where the job stands.
    pub status: JobStatus,
    /// The flow run.
    #[serde(rename = "_flowId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub flow_id: Option<String>,
    /// The parent flow job (export and import jobs of a flow run).
    #[serde(rename = "_flowJobId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub flow_job_id: Option<String>,
    /// The integration of the flow.
    #[serde(rename = "_integrationId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub integration_id: Option<String>,
    /// The export run (export jobs).
    #[serde(rename = "_exportId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub export_id: Option<String>,
    /// The import run (import jobs).
    #[serde(rename = "_importId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub import_id: Option<String>,
    /// When the job started running.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    /// When the job ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    /// Records processed successfully.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub num_success: Option<i64>,
    /// Records that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub num_error: Option<i64>,
    /// Records ignored (e.g. `ignoreExisting`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub num_ignore: Option<i64>,
    /// Records exported.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub num_export: Option<i64>,
    /// Pages generated by the exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub num_pages_generated: Option<i64>,
    /// Pages processed by the imports and lookups.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub num_pages_processed: Option<i64>,
    /// Whether the job has errors that can be retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retriable: Option<bool>,
    /// The job this one retries.
    #[serde(rename = "_retryOfJobId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub retry_of_job_id: Option<String>,
    /// When the job was created (ISO-8601, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// When the job last changed (ISO-8601, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub last_modified: Option<String>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One record that failed in a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobError {
    /// Id of the error.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: Option<String>,
    /// Machine-readable code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Where the error arose (e.g. the application, a hook, the mapping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The job.
    #[serde(rename = "_jobId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub job_id: Option<String>,
    /// The retry job that last retried the record.
    #[serde(rename = "_retryId", skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub retry_id: Option<String>,
    /// What a retry needs: the record and the stage it failed at (absent: not retriable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_data: Option<Map<String, Value>>,
    /// When the error happened (ISO-8601, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only, format = DateTime)]
    pub created_at: Option<String>,
    /// Whether the error is resolved (retried successfully or marked resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<bool>,
    /// Fields the server does not know, kept unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The job a request started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobId {
    /// Id of the new job.
    #[serde(rename = "_jobId")]
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub job_id: String,
}

// ---------------------------------------------------------------------------------------------
// Accounts, tokens, state, errors

/// Who a bearer token belongs to and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    /// The account.
    #[serde(rename = "_userId")]
    pub user_id: String,
    /// `*` for an account token; for a one-time token what it may do, e.g.
    /// `connector:<_connectorId>` or `diy`.
    pub scope: String,
}

/// A new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountCreate {
    /// Email of the account (unique; 409 `duplicate_email` when taken).
    #[schema(format = "email")]
    pub email: String,
    /// Display name (default: the email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An account just created, with its API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    /// Id of the account.
    #[serde(rename = "_id")]
    #[schema(read_only, pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    /// Email of the account.
    #[schema(format = "email")]
    pub email: String,
    /// Display name.
    pub name: String,
    /// The account's API token (`Authorization: Bearer <token>`); shown only here.
    pub token: String,
}

/// Keys of the stored state values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateKeys {
    /// The keys.
    pub keys: Vec<String>,
}

/// The error body of every failed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Errors {
    /// One entry per problem.
    pub errors: Vec<Problem>,
}

// ---------------------------------------------------------------------------------------------

type Components = Vec<(String, RefOr<Schema>)>;

fn add<T: ToSchema>(all: &mut Components) {
    all.push((T::name().into_owned(), T::schema()));
    T::schemas(all);
}

/// Every component schema, by name: the documents of the API and the schemas they refer to.
pub fn components() -> Vec<(String, RefOr<Schema>)> {
    let mut all = Components::new();
    add::<Errors>(&mut all);
    add::<Problem>(&mut all);
    add::<Connection>(&mut all);
    add::<Export>(&mut all);
    add::<Import>(&mut all);
    add::<Flow>(&mut all);
    add::<Hook>(&mut all);
    add::<Integration>(&mut all);
    add::<Connector>(&mut all);
    add::<License>(&mut all);
    add::<InstallBaseEntry>(&mut all);
    add::<MarketplaceConnector>(&mut all);
    add::<InstallRequest>(&mut all);
    add::<StepSubmission>(&mut all);
    add::<SettingsUpdate>(&mut all);
    add::<SettingsField>(&mut all);
    add::<SettingsForm>(&mut all);
    add::<UpdatePush>(&mut all);
    add::<UpdateOutcome>(&mut all);
    add::<UninstallResult>(&mut all);
    add::<IClient>(&mut all);
    add::<Template>(&mut all);
    add::<Stack>(&mut all);
    add::<Invocation>(&mut all);
    add::<InvocationResult>(&mut all);
    add::<Job>(&mut all);
    add::<JobError>(&mut all);
    add::<JobId>(&mut all);
    add::<TokenInfo>(&mut all);
    add::<AccountCreate>(&mut all);
    add::<Account>(&mut all);
    add::<StateKeys>(&mut all);
    let mut seen = std::collections::HashSet::new();
    all.retain(|(name, _)| seen.insert(name.clone()));
    all
}
