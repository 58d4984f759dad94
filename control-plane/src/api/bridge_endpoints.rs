//! The endpoints every action and source type has in common — list, create, read, update and
//! enable — written once over [`BridgeKind`](super::bridges::BridgeKind). Each type's module
//! instantiates them with its own paths, tag, operation ids and view, so the OpenAPI document
//! still describes each type on its own. Deletes differ between the types and stay in their
//! modules.

/// Defines the handlers `list`, `create`, `read`, `update` and `set_enable` for one bridge kind in
/// the calling module; its `configure` registers them.
macro_rules! bridge_endpoints {
    (
        kind: $kind:ty,
        view: $view:ty,
        tag: $tag:literal,
        id_format: $id_format:literal,
        collection_path: $collection_path:literal,
        item_path: $item_path:literal,
        enable_path: $enable_path:literal,
        operation_ids: {
            list: $list_op:literal,
            create: $create_op:literal,
            read: $read_op:literal,
            update: $update_op:literal,
            set_enable: $set_enable_op:literal $(,)?
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
    };
}
pub(crate) use bridge_endpoints;
