//! The endpoints every action and source type has in common — list, create, read, update and
//! enable — written once over [`BridgeKind`](super::bridges::BridgeKind). Each type's module
//! instantiates them with its own paths, tag, operation ids and view, so the OpenAPI document
//! still describes each type on its own. Deletes differ between the types and stay in their
//! modules.

/// Defines the handlers `list`, `create`, `read`, `update`, `set_enable`, `operate`,
/// `operate_on_node` and `summary`
/// for one bridge kind in the calling module; its `configure` registers them.
macro_rules! bridge_endpoints {
    (
        kind: $kind:ty,
        view: $view:ty,
        tag: $tag:literal,
        id_format: $id_format:literal,
        collection_path: $collection_path:literal,
        item_path: $item_path:literal,
        enable_path: $enable_path:literal,
        operation_path: $operation_path:literal,
        node_operation_path: $node_operation_path:literal,
        summary_path: $summary_path:literal,
        operation_ids: {
            list: $list_op:literal,
            create: $create_op:literal,
            read: $read_op:literal,
            update: $update_op:literal,
            set_enable: $set_enable_op:literal,
            operate: $operate_op:literal,
            operate_on_node: $operate_on_node_op:literal,
            summary: $summary_op:literal $(,)?
        } $(,)?
    ) => {
        // utoipa recognises only a bare `#[get]`-style attribute, which would need the caller's
        // imports; so each path states its method, path and handler (`impl_for`) itself.
        #[utoipa::path(
            get,
            path = $collection_path,
            impl_for = list,
            operation_id = $list_op,
            tag = $tag,
            responses((status = 200, body = [$view]))
        )]
        #[actix_web::get($collection_path)]
        async fn list(
            state: actix_web::web::Data<$crate::state::AppState>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            Ok(actix_web::HttpResponse::Ok().json(
                $crate::api::bridges::list::<$kind>(&state)
                    .await?
                    .into_iter()
                    .map(<$view>::from)
                    .collect::<Vec<_>>(),
            ))
        }

        #[utoipa::path(
            post,
            path = $collection_path,
            impl_for = create,
            operation_id = $create_op,
            tag = $tag,
            request_body(content = $view, description = "`type`, `name`, `connector`, `parameters`, optional `enable`, `description`, `resource_opts`, `tags`"),
            responses((status = 201, body = $view), (status = 400, description = "Invalid field, unknown connector, or `ALREADY_EXISTS`", body = $crate::error::ErrorBody))
        )]
        #[actix_web::post($collection_path)]
        async fn create(
            state: actix_web::web::Data<$crate::state::AppState>,
            body: actix_web::web::Json<serde_json::Value>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            Ok(actix_web::HttpResponse::Created().json(<$view>::from(
                $crate::api::bridges::create::<$kind>(&state, body.into_inner()).await?,
            )))
        }

        #[utoipa::path(
            get,
            path = $item_path,
            impl_for = read,
            operation_id = $read_op,
            tag = $tag,
            params(("id" = String, Path, description = $id_format)),
            responses((status = 200, body = $view), (status = 404, body = $crate::error::ErrorBody))
        )]
        #[actix_web::get($item_path)]
        async fn read(
            state: actix_web::web::Data<$crate::state::AppState>,
            id: actix_web::web::Path<String>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            Ok(actix_web::HttpResponse::Ok().json(<$view>::from(
                $crate::api::bridges::read::<$kind>(&state, &id).await?,
            )))
        }

        #[utoipa::path(
            put,
            path = $item_path,
            impl_for = update,
            operation_id = $update_op,
            tag = $tag,
            params(("id" = String, Path, description = $id_format)),
            request_body(content = $view, description = "`connector`, `parameters`, optional `enable`, `description`, `resource_opts`, `tags`"),
            responses((status = 200, body = $view), (status = 400, body = $crate::error::ErrorBody), (status = 404, body = $crate::error::ErrorBody))
        )]
        #[actix_web::put($item_path)]
        async fn update(
            state: actix_web::web::Data<$crate::state::AppState>,
            id: actix_web::web::Path<String>,
            body: actix_web::web::Json<serde_json::Value>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            Ok(actix_web::HttpResponse::Ok().json(<$view>::from(
                $crate::api::bridges::update::<$kind>(&state, &id, body.into_inner()).await?,
            )))
        }

        #[utoipa::path(
            put,
            path = $enable_path,
            impl_for = set_enable,
            operation_id = $set_enable_op,
            tag = $tag,
            params(("id" = String, Path, description = $id_format), ("enable" = bool, Path)),
            responses((status = 204, description = "Done"), (status = 404, body = $crate::error::ErrorBody))
        )]
        #[actix_web::put($enable_path)]
        async fn set_enable(
            state: actix_web::web::Data<$crate::state::AppState>,
            path: actix_web::web::Path<(String, bool)>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            let (id, enable) = path.into_inner();
            $crate::api::bridges::set_enable::<$kind>(&state, &id, enable).await?;
            Ok(actix_web::HttpResponse::NoContent().finish())
        }

        #[utoipa::path(
            post,
            path = $operation_path,
            impl_for = operate,
            operation_id = $operate_op,
            tag = $tag,
            params(
                ("id" = String, Path, description = $id_format),
                ("operation" = inline($crate::api::operations::Operation), Path, description = "`start`, EMQX's only operation: starts the connector it runs on (workers give its clients a fresh start when it is not connected, or when `resource_opts.start_after_created` is false and it waits for its first start), then health-checks it and answers with the outcome within the connector's `resource_opts.start_timeout`."),
            ),
            responses(
                (status = 204, description = "Its connector is connected"),
                (status = 400, description = "It or its connector is disabled (`Forbidden operation, connector not enabled`), the operation is not `start`, or the connector did not connect (`reason` says why, or that `start_timeout` passed)", body = $crate::error::ErrorBody),
                (status = 404, description = "No such resource, or a malformed id", body = $crate::error::ErrorBody),
            )
        )]
        #[actix_web::post($operation_path)]
        async fn operate(
            state: actix_web::web::Data<$crate::state::AppState>,
            request: actix_web::HttpRequest,
            path: actix_web::web::Path<(String, String)>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            let (id, operation) = path.into_inner();
            $crate::api::operations::check(&request, &operation)?;
            $crate::api::bridges::start::<$kind>(&state, &id, None).await?;
            Ok(actix_web::HttpResponse::NoContent().finish())
        }

        #[utoipa::path(
            post,
            path = $node_operation_path,
            impl_for = operate_on_node,
            operation_id = $operate_on_node_op,
            tag = $tag,
            params(
                ("node" = String, Path, description = "A live worker's name (EMQX's nodes are Tributary's workers; `GET /workers` lists them)"),
                ("id" = String, Path, description = $id_format),
                ("operation" = inline($crate::api::operations::Operation), Path, description = "`start`, as on the path without `/nodes/{node}`; whether the connector needs a restart is what this worker reports. A restart applies on every worker: they run each connector together."),
            ),
            responses(
                (status = 204, description = "Its connector is connected"),
                (status = 400, description = "It or its connector is disabled, the operation is not `start`, or the connector did not connect (`reason` says why)", body = $crate::error::ErrorBody),
                (status = 404, description = "No live worker of that name (`field` is `node`), no such resource, or a malformed id", body = $crate::error::ErrorBody),
            )
        )]
        #[actix_web::post($node_operation_path)]
        async fn operate_on_node(
            state: actix_web::web::Data<$crate::state::AppState>,
            request: actix_web::HttpRequest,
            path: actix_web::web::Path<(String, String, String)>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            let (node, id, operation) = path.into_inner();
            $crate::api::operations::check(&request, &operation)?;
            $crate::api::bridges::start::<$kind>(&state, &id, Some(&node)).await?;
            Ok(actix_web::HttpResponse::NoContent().finish())
        }

        #[utoipa::path(
            get,
            path = $summary_path,
            impl_for = summary,
            operation_id = $summary_op,
            tag = $tag,
            responses((status = 200, body = [$crate::api::bridges::BridgeSummary]))
        )]
        #[actix_web::get($summary_path)]
        async fn summary(
            state: actix_web::web::Data<$crate::state::AppState>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            Ok(actix_web::HttpResponse::Ok().json($crate::api::bridges::summary::<$kind>(&state).await?))
        }
    };
}
pub(crate) use bridge_endpoints;
