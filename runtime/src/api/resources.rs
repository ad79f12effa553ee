//! Resources as open documents: the create / read / replace / delete / clone path every
//! resource shares (validation, references, secrets, timestamps), and the plain CRUD routes of
//! every kind in [`model::CRUD_KINDS`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::MethodFilter;
use serde_json::{Map, Value};

use super::marketplace::OptionalJson;
use super::{ApiError, ApiResult, Id, JsonBody, Op, Routes, json_response};
use crate::auth::Principal;
use crate::model::check::{self, Problem};
use crate::model::{self, Kind};
use crate::secrets::{self, MASK};
use crate::store::{Batch, Db, Reference};
use crate::{AppState, marketplace, util};

/// Fields only the server writes.
const SERVER_FIELDS: &[&str] = &["_id", "createdAt", "lastModified"];

/// The OpenAPI schema name of a kind (`exports` → `Export`).
pub fn schema_name(kind: &Kind) -> String {
    let mut name = kind.singular.to_owned();
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    name
}

/// Plain CRUD (and clone) routes of every kind.
pub fn routes() -> Routes {
    let mut routes = Routes::new();
    for &kind in model::CRUD_KINDS {
        let tag = kind.name;
        let schema = schema_name(kind);
        let all = format!("/{}", kind.name);
        let one = format!("/{}/{{id}}", kind.name);
        routes = routes
            .add(
                MethodFilter::GET,
                &all,
                move |State(s): State<AppState>, p: Principal| async move { list(&s, &p, kind) },
                Op::new(tag, 200, format!("List {}", kind.name)).returns_list(&schema),
            )
            .add(
                MethodFilter::POST,
                &all,
                move |State(s): State<AppState>, p: Principal, JsonBody(body)| async move {
                    let doc = create(&s, &p, kind, kind.name, body).await?;
                    Ok::<_, ApiError>(json_response(StatusCode::CREATED, &present(doc)))
                },
                Op::new(tag, 201, format!("Create a {}", kind.singular))
                    .body(&schema)
                    .returns(&schema),
            )
            .add(
                MethodFilter::GET,
                &one,
                move |State(s): State<AppState>, p: Principal, Id(id)| async move {
                    let doc = load(&s.db, &p, kind, kind.name, &id)?;
                    Ok::<_, ApiError>(json_response(StatusCode::OK, &present(doc)))
                },
                Op::new(tag, 200, format!("Read a {}", kind.singular)).returns(&schema),
            )
            .add(
                MethodFilter::PUT,
                &one,
                move |State(s): State<AppState>, p: Principal, Id(id), JsonBody(body)| async move {
                    let doc = replace(&s, &p, kind, kind.name, &id, body).await?;
                    Ok::<_, ApiError>(json_response(StatusCode::OK, &present(doc)))
                },
                Op::new(tag, 200, format!("Replace a {}", kind.singular))
                    .body(&schema)
                    .returns(&schema),
            )
            .add(
                MethodFilter::DELETE,
                &one,
                move |State(s): State<AppState>, p: Principal, Id(id)| async move {
                    delete(&s, &p, kind, kind.name, &id).await?;
                    Ok::<_, ApiError>(StatusCode::NO_CONTENT)
                },
                Op::new(
                    tag,
                    204,
                    format!("Delete a {} (409 while it is referenced)", kind.singular),
                ),
            );
        if model::CLONEABLE.contains(&kind.name) {
            routes = routes.add(
                MethodFilter::POST,
                &format!("/{}/{{id}}/clone", kind.name),
                move |State(s): State<AppState>, p: Principal, Id(id), _body: OptionalJson| async move {
                    let doc = clone(&s, &p, kind, &id).await?;
                    Ok::<_, ApiError>(json_response(StatusCode::CREATED, &present(doc)))
                },
                Op::new(
                    tag,
                    201,
                    format!("Copy a {} as 'Clone - <name>'", kind.singular),
                )
                .returns(&schema),
            );
        }
    }
    routes
}

fn list(state: &AppState, principal: &Principal, kind: &Kind) -> ApiResult<Response> {
    let docs: Vec<Value> = state
        .db
        .list(&principal.account, kind.name)?
        .into_iter()
        .filter(|doc| principal.sees(doc))
        .map(present)
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(docs)))
}

/// A document as responses show it: every secret masked.
pub fn present(mut doc: Value) -> Value {
    secrets::mask(&mut doc);
    doc
}

/// The stored document `id` of `kind` (stored in `collection`) in the caller's account, or 404
/// when it does not exist there or the caller may not see it (connector code sees only what
/// carries its connector).
pub fn load(
    db: &Db,
    principal: &Principal,
    kind: &Kind,
    collection: &str,
    id: &str,
) -> ApiResult<Value> {
    db.get(&principal.account, collection, id)?
        .filter(|doc| principal.sees(doc))
        .ok_or_else(|| ApiError::not_found(kind.singular, id))
}

/// Make durable what was written (outside the write lock, so concurrent writers share a sync).
pub async fn flush(db: &Db) -> ApiResult<()> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.flush()).await??;
    Ok(())
}

/// Check `body` as a new version of a document of `kind` (replacing `old`, if any): strip the
/// server's fields, validate, seal secrets, and check that every reference exists in `account`.
/// Returns the document to store (without `_id` and timestamps) and its references, or every
/// problem at once. Call with the write lock held.
pub fn prepare(
    state: &AppState,
    principal: &Principal,
    kind: &Kind,
    body: Value,
    old: Option<&Value>,
) -> ApiResult<(Value, Vec<Reference>)> {
    let account = principal.account.as_str();
    let Value::Object(mut fields) = body else {
        return Err(ApiError::invalid(vec![Problem::general(
            "invalid_type",
            format!("the body must be a JSON object (a {})", kind.singular),
        )]));
    };
    for f in SERVER_FIELDS.iter().chain(kind.owned) {
        fields.remove(*f);
    }
    if let Some(connector) = principal.connector() {
        // Connector code creates and edits only what carries its connector.
        match fields.get("_connectorId") {
            None | Some(Value::Null) => {
                fields.insert("_connectorId".into(), Value::String(connector.to_owned()));
            }
            Some(Value::String(c)) if c == connector => {}
            Some(_) => {
                return Err(ApiError::forbidden(format!(
                    "code of connector '{connector}' may only write resources of that connector"
                )));
            }
        }
    }
    if let Some(old) = old {
        for f in kind.owned {
            if let Some(value) = old.get(*f) {
                fields.insert((*f).to_owned(), value.clone());
            }
        }
        // What a connector manages in an installing account keeps its tags and install state.
        marketplace::keep_managed_fields(&state.db, principal, kind, old, &mut fields)?;
    }
    let mut doc = Value::Object(fields);
    if let Some(path) = secrets::find_envelope_key(&doc, "") {
        return Err(ApiError::invalid_field(
            "invalid_value",
            format!("the key '{}' is reserved", secrets::ENVELOPE),
            &path,
        ));
    }
    let secret_paths = (kind.secrets)(&doc);
    let kept: Vec<String> = secret_paths
        .iter()
        .filter(|p| check::get(&doc, p).and_then(Value::as_str) == Some(MASK))
        .cloned()
        .collect();
    let mut problems = kind.problems(&doc, &kept);
    for path in &secret_paths {
        let stored = old
            .and_then(|o| check::get(o, path))
            .filter(|v| secrets::is_sealed(v));
        let Some(value) = check::get_mut(&mut doc, path) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        if kept.contains(path) {
            match stored {
                Some(envelope) => *value = envelope.clone(),
                None => problems.push(Problem::field(
                    "invalid_value",
                    format!(
                        "'{MASK}' keeps a stored secret, but {path} has none: send the value itself"
                    ),
                    path,
                )),
            }
        } else {
            *value = state.secrets.seal(value);
        }
    }
    let refs = (kind.references)(&doc);
    // The connector whose code wrote (or writes) the document: its hooks and wrappers may run
    // on that connector's stack.
    let connector_of_doc = principal.connector().or_else(|| {
        old.and_then(|o| o["_connectorId"].as_str())
            .filter(|c| doc["_connectorId"].as_str() == Some(*c))
    });
    for r in &refs {
        let Some(target) = model::kind(r.kind) else {
            continue;
        };
        // Connector code's own connector (and its stack) live in the publisher's account; a
        // connector-managed document keeps the connector it was written with.
        let own_connector = r.kind == "connectors"
            && (principal.connector() == Some(r.id.as_str())
                || old.is_some_and(|o| o["_connectorId"].as_str() == Some(r.id.as_str())));
        let own_stack = r.kind == "stacks"
            && match connector_of_doc {
                Some(connector) => marketplace::is_connector_stack(&state.db, connector, &r.id)?,
                None => false,
            };
        let visible = own_connector
            || own_stack
            || state
                .db
                .get(account, r.kind, &r.id)?
                .is_some_and(|target| principal.sees(&target));
        if util::is_id(&r.id) && !visible {
            problems.push(Problem::field(
                "invalid_reference",
                format!("{}: no {} with _id '{}'", r.field, target.singular, r.id),
                &r.field,
            ));
        }
    }
    if problems.is_empty() {
        Ok((doc, refs))
    } else {
        Err(ApiError::invalid(problems))
    }
}

fn stamp(doc: &mut Value, id: &str, created: &str, modified: &str) {
    if let Value::Object(fields) = doc {
        let mut stamped = Map::with_capacity(fields.len() + 3);
        stamped.insert("_id".into(), Value::String(id.to_owned()));
        stamped.append(fields);
        stamped.insert("createdAt".into(), Value::String(created.to_owned()));
        stamped.insert("lastModified".into(), Value::String(modified.to_owned()));
        *fields = stamped;
    }
}

/// Create a document of `kind` from `body` in `collection` (normally `kind.name`).
pub async fn create(
    state: &AppState,
    principal: &Principal,
    kind: &Kind,
    collection: &str,
    body: Value,
) -> ApiResult<Value> {
    let account = principal.account.as_str();
    let id = util::new_id();
    let doc = {
        let _guard = state.db.lock();
        let (mut doc, refs) = prepare(state, principal, kind, body, None)?;
        let now = util::now();
        stamp(&mut doc, &id, &now, &now);
        let mut batch = Batch::default();
        Db::put_doc(&mut batch, account, collection, &id, &doc, &[], &refs);
        if kind.name == model::CONNECTORS.name {
            marketplace::index_connector(&mut batch, account, &id);
        }
        state.db.write(batch)?;
        doc
    };
    flush(&state.db).await?;
    Ok(doc)
}

/// Replace document `id` of `kind` with `body`.
pub async fn replace(
    state: &AppState,
    principal: &Principal,
    kind: &Kind,
    collection: &str,
    id: &str,
    body: Value,
) -> ApiResult<Value> {
    let account = principal.account.as_str();
    let doc = {
        let _guard = state.db.lock();
        let old = load(&state.db, principal, kind, collection, id)?;
        let (mut doc, refs) = prepare(state, principal, kind, body, Some(&old))?;
        let created = old["createdAt"].as_str().unwrap_or_default().to_owned();
        stamp(&mut doc, id, &created, &util::now());
        let mut batch = Batch::default();
        let old_refs = (kind.references)(&old);
        Db::put_doc(&mut batch, account, collection, id, &doc, &old_refs, &refs);
        state.db.write(batch)?;
        doc
    };
    flush(&state.db).await?;
    Ok(doc)
}

/// Delete document `id` of `kind`, with its state and sub-collections; 409 while another
/// document refers to it.
pub async fn delete(
    state: &AppState,
    principal: &Principal,
    kind: &Kind,
    collection: &str,
    id: &str,
) -> ApiResult<()> {
    let account = principal.account.as_str();
    {
        let _guard = state.db.lock();
        let doc = load(&state.db, principal, kind, collection, id)?;
        marketplace::refuse_managed(&state.db, principal, kind, &doc, "delete")?;
        let referrers: Vec<Problem> = state
            .db
            .referrers(id)?
            .into_iter()
            .filter(|r| r.id != id)
            .map(|r| {
                let singular = model::kind(&r.kind).map_or(r.kind.as_str(), |k| k.singular);
                Problem::general(
                    "referenced",
                    format!(
                        "{} '{id}' is used by {singular} '{}' (field {})",
                        kind.singular,
                        r.id,
                        r.fields.join(", ")
                    ),
                )
            })
            .collect();
        if !referrers.is_empty() {
            return Err(ApiError::problems(StatusCode::CONFLICT, referrers));
        }
        let mut batch = Batch::default();
        Db::delete_doc(
            &mut batch,
            account,
            collection,
            id,
            &(kind.references)(&doc),
        );
        state
            .db
            .state_clear(&mut batch, account, &format!("{}:{id}", kind.name))?;
        if kind.name == model::CONNECTORS.name {
            marketplace::unindex_connector(&mut batch, id);
        }
        for (sub, sub_kind) in sub_collections(kind, id) {
            for child in state.db.list(account, &sub)? {
                if let Some(child_id) = child["_id"].as_str() {
                    // The child's own references go too, or their targets stay "referenced".
                    let refs = sub_kind.map(|k| (k.references)(&child)).unwrap_or_default();
                    Db::delete_doc(&mut batch, account, &sub, child_id, &refs);
                }
            }
        }
        state.db.write(batch)?;
    }
    if kind.name == model::CONNECTIONS.name {
        state.adaptors.debug_logs().forget(id);
    }
    flush(&state.db).await
}

/// Collections that belong to one document and go with it, with the kind of their documents
/// (job errors have none: they refer to nothing).
fn sub_collections(kind: &Kind, id: &str) -> Vec<(String, Option<&'static Kind>)> {
    match kind.name {
        "connectors" => vec![(format!("licenses:{id}"), Some(&model::LICENSES))],
        "jobs" => vec![
            (format!("joberrors:{id}"), None),
            (format!("jobchildren:{id}"), None),
        ],
        _ => Vec::new(),
    }
}

async fn clone(state: &AppState, principal: &Principal, kind: &Kind, id: &str) -> ApiResult<Value> {
    let account = principal.account.as_str();
    let new_id = util::new_id();
    let doc = {
        let _guard = state.db.lock();
        let mut doc = load(&state.db, principal, kind, kind.name, id)?;
        marketplace::refuse_managed(&state.db, principal, kind, &doc, "clone")?;
        let name = doc["name"].as_str().unwrap_or(kind.singular).to_owned();
        doc["name"] = Value::String(format!("Clone - {name}"));
        let now = util::now();
        doc["_id"] = Value::String(new_id.clone());
        doc["createdAt"] = Value::String(now.clone());
        doc["lastModified"] = Value::String(now);
        let refs = (kind.references)(&doc);
        let mut batch = Batch::default();
        Db::put_doc(&mut batch, account, kind.name, &new_id, &doc, &[], &refs);
        state.db.write(batch)?;
        doc
    };
    flush(&state.db).await?;
    Ok(doc)
}
