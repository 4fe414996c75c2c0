/* imp-application.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "imp-application.h"
#include "imp-window.h"

struct _ImpApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (ImpApplication, imp_application, ADW_TYPE_APPLICATION)

static ImpWindow *
imp_application_get_window (ImpApplication *self)
{
  GtkApplication *app = GTK_APPLICATION (self);
  GtkWindow *window = gtk_application_get_active_window (app);

  if (IMP_IS_WINDOW (window))
    return IMP_WINDOW (window);

  window = GTK_WINDOW (imp_window_new (GTK_APPLICATION (self)));
  gtk_window_present (window);
  return IMP_WINDOW (window);
}

/* The installed demo, or the one the build generated when running from the
 * build tree. An empty file is a placeholder, not a demo. */
static char *
find_demo (void)
{
  static const char * const dirs[] = { IMP_DATADIR, IMP_SOURCE_DATADIR };

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], "demo.h5", NULL);
      GStatBuf st;

      if (g_stat (path, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0)
        return g_steal_pointer (&path);
    }

  return NULL;
}

static void
open_demo_action_cb (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  ImpApplication *self = user_data;
  g_autofree char *path = find_demo ();
  g_autoptr(GFile) file = NULL;
  ImpWindow *window = imp_application_get_window (self);
  GtkWidget *dialog;

  if (path != NULL)
    {
      file = g_file_new_for_path (path);
      imp_window_open (window, file);
      return;
    }

  g_debug ("Failed to find the demo recording");
  dialog = adw_message_dialog_new (GTK_WINDOW (window),
                                   _("Demo Recording Not Found"),
                                   _("The demo recording is not part of "
                                     "this installation. Open a recording "
                                     "of your own instead."));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog),
                                   "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
open_action_cb (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  ImpWindow *window = imp_application_get_window (user_data);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.open", NULL);
}

static void
new_window_action_cb (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  gtk_window_present (GTK_WINDOW (imp_window_new (user_data)));
}

static void
about_action_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkWindow *parent = gtk_application_get_active_window (user_data);
  GtkWidget *about;
  static const char *developers[] = { "The Imprint authors", NULL };

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "application-name", _("Imprint"),
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", _("The Imprint authors"),
                        "developers", developers,
                        "copyright", "© 2026 The Imprint authors",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "comments", _("Copy a neuronal network’s synaptic "
                                      "connectivity map out of a multichannel "
                                      "intracellular recording, curate it, "
                                      "and paste it onto a crossbar of "
                                      "conductive memories."),
                        "transient-for", parent,
                        "modal", parent != NULL,
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit_action_cb (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GList *windows;

  /* Closing the windows cancels their work; the application ends when
   * the last window is gone and the workers have returned. */
  while ((windows = gtk_application_get_windows (user_data)) != NULL)
    gtk_window_destroy (windows->data);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action_cb },
  { "about", about_action_cb },
  { "open", open_action_cb },
  { "open-demo", open_demo_action_cb },
  { "new-window", new_window_action_cb },
};

static void
imp_application_startup (GApplication *app)
{
  GtkApplication *gtk_app = GTK_APPLICATION (app);
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.new-window", { "<Control>n", NULL } },
    { "win.open", { "<Control>o", NULL } },
    { "win.analyze", { "<Control>r", NULL } },
    { "win.find", { "<Control>f", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
  };

  G_APPLICATION_CLASS (imp_application_parent_class)->startup (app);

  g_set_application_name (_("Imprint"));
  gtk_window_set_default_icon_name (APP_ID);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions,
                                   G_N_ELEMENTS (app_actions), app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (gtk_app, accels[i].action,
                                           accels[i].accels);
}

static void
imp_application_activate (GApplication *app)
{
  gtk_window_present (GTK_WINDOW (imp_window_new (GTK_APPLICATION (app))));
}

static void
imp_application_open (GApplication  *app,
                      GFile        **files,
                      int            n_files,
                      const char    *hint)
{
  for (int i = 0; i < n_files; i++)
    {
      ImpWindow *window = imp_window_new (GTK_APPLICATION (app));

      gtk_window_present (GTK_WINDOW (window));
      imp_window_open (window, files[i]);
    }
}

static void
imp_application_class_init (ImpApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->startup = imp_application_startup;
  app_class->activate = imp_application_activate;
  app_class->open = imp_application_open;
}

static void
imp_application_init (ImpApplication *self)
{
}

/**
 * imp_application_new:
 *
 * Returns: (transfer full): the application
 */
ImpApplication *
imp_application_new (void)
{
  return g_object_new (IMP_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", (G_APPLICATION_HANDLES_OPEN |
                                 G_APPLICATION_NON_UNIQUE),
                       "resource-base-path", "/io/github/imprint/Imprint",
                       NULL);
}

/**
 * imp_application_main:
 * @argc: the argument count
 * @argv: (array length=argc): the arguments; files to open
 *
 * Runs the graphical application.
 *
 * Returns: the exit status
 */
int
imp_application_main (int    argc,
                      char **argv)
{
  g_autoptr(ImpApplication) app = imp_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
