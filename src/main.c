/* main.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <glib/gi18n.h>
#include <gsl/gsl_errno.h>

#include "imp-application.h"
#include "imp-cli.h"

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* GSL's default handler aborts; we check return codes instead. */
  gsl_set_error_handler_off ();

  if (argc > 1 && imp_cli_is_command (argv[1]))
    return imp_cli_main (argc, argv);

  return imp_application_main (argc, argv);
}
