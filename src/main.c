/* main.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <adwaita.h>
#include <glib/gi18n.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_version.h>
#include <hdf5.h>

#include "imp-application.h"
#include "imp-cli.h"

static int
print_version (void)
{
  unsigned majnum = 0, minnum = 0, relnum = 0;

  H5get_libversion (&majnum, &minnum, &relnum);
  printf ("imprint %s\n", PACKAGE_VERSION);
  printf ("GTK %u.%u.%u (built with %d.%d.%d)\n",
          gtk_get_major_version (), gtk_get_minor_version (),
          gtk_get_micro_version (),
          GTK_MAJOR_VERSION, GTK_MINOR_VERSION, GTK_MICRO_VERSION);
  printf ("libadwaita %u.%u.%u (built with %d.%d.%d)\n",
          adw_get_major_version (), adw_get_minor_version (),
          adw_get_micro_version (),
          ADW_MAJOR_VERSION, ADW_MINOR_VERSION, ADW_MICRO_VERSION);
  printf ("HDF5 %u.%u.%u\n", majnum, minnum, relnum);
  printf ("GSL %s\n", gsl_version);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  /* GLib 2.74's slice allocator keeps locks of its own that a forked
   * child (the file probe in imp-probe.c) could inherit held; plain malloc
   * is fork-safe. Must come before GLib allocates anything. */
  setenv ("G_SLICE", "always-malloc", 1);

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* GSL's default handler aborts; we check return codes instead. */
  gsl_set_error_handler_off ();

  if (argc == 2 && g_str_equal (argv[1], "--version"))
    return print_version ();

  if (argc > 1 && imp_cli_is_command (argv[1]))
    return imp_cli_main (argc, argv);

  /* A bare word that names no file is a mistyped command, not a recording
   * for the window to open ("imprint analyse"). */
  if (argc > 1 && argv[1][0] != '-' && strpbrk (argv[1], "/.") == NULL
      && !g_file_test (argv[1], G_FILE_TEST_EXISTS))
    return imp_cli_main (argc, argv);

  return imp_application_main (argc, argv);
}
