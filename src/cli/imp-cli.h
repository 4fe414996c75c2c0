/* imp-cli.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean imp_cli_is_command (const char  *word);
int      imp_cli_main       (int          argc,
                             char       **argv);

G_END_DECLS
