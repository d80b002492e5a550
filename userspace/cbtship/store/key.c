/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation of object keys and list prefixes. */
#include <string.h>

#include "cbtship/store/key.h"

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool cbt_store_key_component_valid(const char *name, size_t len)
{
	if (len == 0 || len > CBT_STORE_KEY_COMPONENT_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!key_char(name[i]))
			return false;
	return true;
}

bool cbt_store_key_valid(const char *key)
{
	size_t len;
	const char *p;

	if (!key)
		return false;
	len = strnlen(key, CBT_STORE_KEY_MAX + 1);
	if (len == 0 || len > CBT_STORE_KEY_MAX)
		return false;
	p = key;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (!cbt_store_key_component_valid(p, n))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

bool cbt_store_prefix_valid(const char *prefix)
{
	size_t len;

	if (!prefix)
		return false;
	len = strnlen(prefix, CBT_STORE_KEY_MAX + 1);
	if (len > CBT_STORE_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!key_char(prefix[i]) && prefix[i] != '/')
			return false;
	return true;
}
