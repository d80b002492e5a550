/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Garbage marks: the containers a collection should visit. */
#include <errno.h>
#include <stdlib.h>

#include "cbtship/catalog/catalog-internal.h"

struct catalog_garbage *catalog_garbage_free(struct catalog_garbage *g)
{
	if (!g)
		return NULL;
	free(g->container);
	free(g);
	return NULL;
}

void catalog_garbage_array_free(struct catalog_garbage **array, size_t n)
{
	for (size_t i = 0; i < n; i++)
		catalog_garbage_free(array[i]);
	free(array);
}

int catalog_garbage_mark(struct catalog *c, enum cbt_service service, const char *container)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	if (!container || !*container)
		return catalog_fail(c, -EINVAL, "a garbage mark needs a container");
	r = catalog_prepare_bind(c,
				 "INSERT INTO garbage (service, container, seq, marked_at)"
				 " VALUES (:service, :container, 1, :now)"
				 " ON CONFLICT (service, container) DO UPDATE SET seq = seq + 1,"
				 " marked_at = :now",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":service", cbt_service_to_string(service));
	catalog_bind_text(&b, ":container", container);
	catalog_bind_int64(&b, ":now", catalog_now());
	r = catalog_bound_step(&b);
	return r < 0 ? r : 0;
}

int catalog_garbage_list(struct catalog *c, struct catalog_garbage ***ret, size_t *ret_n)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_garbage **array = NULL;
	size_t n = 0;
	int r;

	r = catalog_prepare(c,
			    "SELECT service, container, seq, marked_at FROM garbage"
			    " ORDER BY marked_at, service, container",
			    &s);
	if (r < 0)
		return r;
	while ((r = catalog_step(c, s)) > 0) {
		struct catalog_garbage *g = calloc(1, sizeof(*g));

		if (!g || catalog_column_strdup(s, 1, &g->container) < 0) {
			catalog_garbage_free(g);
			r = -ENOMEM;
			break;
		}
		if (cbt_service_from_string((const char *)sqlite3_column_text(s, 0), &g->service) <
		    0) {
			catalog_garbage_free(g);
			continue; /* a service this build does not know */
		}
		g->seq = sqlite3_column_int64(s, 2);
		g->marked_at = sqlite3_column_int64(s, 3);
		r = CATALOG_ARRAY_APPEND(array, n, g);
		if (r < 0) {
			catalog_garbage_free(g);
			break;
		}
	}
	if (r < 0) {
		catalog_garbage_array_free(array, n);
		return r;
	}
	*ret = array;
	*ret_n = n;
	return 0;
}

int catalog_garbage_get(struct catalog *c, enum cbt_service service, const char *container,
			int64_t *ret_seq)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(
		c, "SELECT seq FROM garbage WHERE service = :service AND container = :container",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":service", cbt_service_to_string(service));
	catalog_bind_text(&b, ":container", container);
	r = catalog_bound_step(&b);
	if (r > 0 && ret_seq)
		*ret_seq = sqlite3_column_int64(s, 0);
	return r;
}

int catalog_garbage_clear(struct catalog *c, enum cbt_service service, const char *container,
			  int64_t seq)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "DELETE FROM garbage WHERE service = :service AND"
				 " container = :container AND seq = :seq",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":service", cbt_service_to_string(service));
	catalog_bind_text(&b, ":container", container);
	catalog_bind_int64(&b, ":seq", seq);
	r = catalog_bound_step(&b);
	return r < 0 ? r : 0;
}
