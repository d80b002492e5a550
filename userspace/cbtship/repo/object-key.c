/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Object names in the repository: fan-out content keys, manifest keys. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cbtship/repo/object-key.h"

static const char *const prefixes[_CBT_OBJECT_KIND_MAX] = {
	[CBT_OBJECT_CHUNK] = CBT_CHUNK_KEY_PREFIX,
	[CBT_OBJECT_INDEX] = CBT_INDEX_KEY_PREFIX,
};

char *cbt_object_key(enum cbt_object_kind kind, const struct cbt_chunk_id *id,
		     char buf[static CBT_OBJECT_KEY_SIZE])
{
	const char *prefix = prefixes[kind];
	size_t n = strlen(prefix);
	char hex[CBT_CHUNK_ID_HEX_SIZE];

	cbt_chunk_id_to_hex(id, hex);
	memcpy(buf, prefix, n);
	buf[n++] = hex[0];
	buf[n++] = hex[1];
	buf[n++] = '/';
	memcpy(buf + n, hex, CBT_CHUNK_ID_HEX_SIZE);
	return buf;
}

int cbt_object_key_parse(enum cbt_object_kind kind, const char *key, struct cbt_chunk_id *ret)
{
	struct cbt_chunk_id id;
	const char *prefix, *hex;
	size_t n;

	if (!key || (unsigned)kind >= _CBT_OBJECT_KIND_MAX)
		return -EINVAL;
	prefix = prefixes[kind];
	n = strlen(prefix);
	if (strncmp(key, prefix, n) != 0)
		return -EINVAL;
	key += n;
	if (strnlen(key, 3) < 3 || key[2] != '/')
		return -EINVAL;
	hex = key + 3;
	if (cbt_chunk_id_from_hex(hex, &id) < 0)
		return -EINVAL;
	if (key[0] != hex[0] || key[1] != hex[1])
		return -EINVAL;
	*ret = id;
	return 0;
}

int cbt_backup_id_check(const char *backup_id)
{
	size_t n;

	if (!backup_id)
		return -EINVAL;
	n = strnlen(backup_id, CBT_BACKUP_ID_MAX + 1);
	if (n == 0 || n > CBT_BACKUP_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = backup_id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

int cbt_manifest_key(const char *backup_id, char *buf, size_t len)
{
	int n;

	if (cbt_backup_id_check(backup_id) < 0)
		return -EINVAL;
	n = snprintf(buf, len, "%s%s%s", CBT_MANIFEST_KEY_PREFIX, backup_id,
		     CBT_MANIFEST_KEY_SUFFIX);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int cbt_manifest_key_parse(const char *key, char *buf, size_t len)
{
	const size_t plen = strlen(CBT_MANIFEST_KEY_PREFIX), slen = strlen(CBT_MANIFEST_KEY_SUFFIX);
	char id[CBT_BACKUP_ID_MAX + 1];
	size_t n;

	if (!key || strncmp(key, CBT_MANIFEST_KEY_PREFIX, plen) != 0)
		return -EINVAL;
	key += plen;
	n = strnlen(key, CBT_BACKUP_ID_MAX + slen + 1);
	if (n <= slen || n > CBT_BACKUP_ID_MAX + slen ||
	    strcmp(key + n - slen, CBT_MANIFEST_KEY_SUFFIX))
		return -EINVAL;
	memcpy(id, key, n - slen);
	id[n - slen] = '\0';
	if (cbt_backup_id_check(id) < 0 || len < n - slen + 1)
		return -EINVAL;
	memcpy(buf, id, n - slen + 1);
	return 0;
}
