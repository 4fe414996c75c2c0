/* imp-application.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-application.h"

struct _ImpApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (ImpApplication, imp_application, ADW_TYPE_APPLICATION)

static void
imp_application_activate (GApplication *app)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (app));

  gtk_window_set_title (GTK_WINDOW (window), "Imprint");
  gtk_window_present (GTK_WINDOW (window));
}

static void
imp_application_class_init (ImpApplicationClass *klass)
{
  G_APPLICATION_CLASS (klass)->activate = imp_application_activate;
}

static void
imp_application_init (ImpApplication *self)
{
}

ImpApplication *
imp_application_new (void)
{
  return g_object_new (IMP_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       NULL);
}

int
imp_application_main (int    argc,
                      char **argv)
{
  g_autoptr(ImpApplication) app = imp_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
