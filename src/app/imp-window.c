/* imp-window.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "imp-array-view.h"
#include "imp-histogram-view.h"
#include "imp-imprint-view.h"
#include "imp-map-view.h"
#include "imp-pairs-view.h"
#include "imp-traces-view.h"
#include "imp-window.h"

#define MAX_RECENT 6

/* The default size grows with the screen up to this. */
#define DEFAULT_MAX_WIDTH  1440
#define DEFAULT_MAX_HEIGHT 960

/* What an analysis worker shares with the main thread. The worker only
 * reads @recording and @params and writes the progress fields under
 * @mutex; the main thread learns of progress through one coalesced idle. */
typedef struct
{
  GWeakRef           window;
  GApplication      *app;          /* held until the run's callback */
  ImpRecording      *recording;
  ImpAnalysisParams  params;

  GMutex             mutex;
  double             fraction;
  char              *stage;
  gboolean           idle_pending;
} ImpAnalysisJob;

/* What a pyramid worker shares with the main thread: it opens the
 * recording's pyramid, hands it over at once (views use what is built
 * while the rest is), then builds and saves it; progress goes through one
 * coalesced idle. */
typedef struct
{
  GWeakRef           window;
  GApplication      *app;          /* held until the run's callback */
  ImpRecording      *recording;

  GMutex             mutex;
  ImpPyramid        *pyramid;      /* once opened */
  double             fraction;
  gboolean           idle_pending;
} ImpPyramidJob;

struct _ImpWindow
{
  AdwApplicationWindow  parent_instance;

  /* template children */
  AdwToastOverlay      *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  GtkWidget            *file_title;
  GtkLabel             *file_name_label;
  GtkLabel             *file_details_label;
  AdwViewSwitcherBar   *switcher_bar;
  GtkRevealer          *analysis_revealer;
  GtkLabel             *stage_label;
  GtkProgressBar       *progress_bar;
  GtkStack             *main_stack;
  AdwViewStack         *view_stack;
  GtkWidget            *recent_box;
  GtkListBox           *recent_list;
  AdwBin               *sidebar;
  GtkWidget            *overview_button;

  GtkWidget            *array_view;
  GtkWidget            *traces_view;
  gboolean              show_overview;
  gboolean              overlay_sweeps;

  ImpSession           *session;
  GtkRecentManager     *recent_manager;
  GtkFileChooserNative *chooser;

  GCancellable         *open_cancellable;
  GCancellable         *analysis_cancellable;
  ImpAnalysisJob       *job;
  GCancellable         *pyramid_cancellable;
  ImpPyramidJob        *pyramid_job;
  guint                 pulse_id;
  guint                 header_idle_id;
};

G_DEFINE_FINAL_TYPE (ImpWindow, imp_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_BUSY,
  PROP_SHOW_OVERVIEW,
  PROP_OVERLAY_SWEEPS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void imp_window_update_actions (ImpWindow *self);
static void imp_window_update_recent  (ImpWindow *self);

/* Analysis jobs */

/* Workers keep the application running until their callback, so that
 * quitting waits for them to notice the cancellation instead of exiting
 * under a thread that is still reading. Main thread only. */
static GApplication *
hold_application (ImpWindow *window)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (window));

  if (app == NULL)
    return NULL;

  g_application_hold (G_APPLICATION (app));
  return g_object_ref (G_APPLICATION (app));
}

static void
release_application (GApplication **app)
{
  if (*app == NULL)
    return;

  g_application_release (*app);
  g_clear_object (app);
}

static ImpAnalysisJob *
imp_analysis_job_new (ImpWindow    *window,
                      ImpRecording *recording)
{
  ImpAnalysisJob *job = g_atomic_rc_box_new0 (ImpAnalysisJob);

  g_weak_ref_init (&job->window, window);
  job->app = hold_application (window);
  job->recording = imp_recording_ref (recording);
  imp_analysis_params_init_default (&job->params);
  g_mutex_init (&job->mutex);

  return job;
}

static void
imp_analysis_job_clear (gpointer data)
{
  ImpAnalysisJob *job = data;

  g_weak_ref_clear (&job->window);
  g_clear_pointer (&job->recording, imp_recording_unref);
  g_clear_pointer (&job->stage, g_free);
  g_mutex_clear (&job->mutex);
}

static ImpAnalysisJob *
imp_analysis_job_ref (ImpAnalysisJob *job)
{
  return g_atomic_rc_box_acquire (job);
}

static void
imp_analysis_job_unref (ImpAnalysisJob *job)
{
  g_atomic_rc_box_release_full (job, imp_analysis_job_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpAnalysisJob, imp_analysis_job_unref)

/* Formatting */

static char *
format_duration (double seconds)
{
  if (seconds < 60.0)
    return g_strdup_printf (_("%.3g s"), seconds);
  if (seconds < 3600.0)
    return g_strdup_printf (_("%d min %02d s"),
                            (int) (seconds / 60.0),
                            (int) seconds % 60);
  return g_strdup_printf (_("%d h %02d min"),
                          (int) (seconds / 3600.0),
                          ((int) seconds % 3600) / 60);
}

static char *
format_rate (double rate_hz)
{
  if (rate_hz >= 1000.0)
    return g_strdup_printf (_("%g kHz"), rate_hz / 1000.0);
  return g_strdup_printf (_("%g Hz"), rate_hz);
}

static char *
describe_recording (ImpRecording *recording)
{
  guint n_channels = imp_recording_get_n_channels (recording);
  g_autofree char *rate = NULL;
  g_autofree char *duration = NULL;
  g_autofree char *channels = NULL;
  guint n_sweeps = imp_recording_get_n_sweeps (recording);

  rate = format_rate (imp_recording_get_sample_rate (recording));
  duration = format_duration (imp_recording_get_duration (recording));
  channels = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "%u channel", "%u channels",
                                          n_channels),
                              n_channels);

  if (n_sweeps > 1)
    {
      g_autofree char *sweeps = NULL;

      sweeps = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            "%u sweep", "%u sweeps",
                                            n_sweeps),
                                n_sweeps);
      return g_strdup_printf ("%s · %s · %s · %s",
                              channels, rate, duration, sweeps);
    }

  return g_strdup_printf ("%s · %s · %s", channels, rate, duration);
}

/* Feedback */

static void
imp_window_toast (ImpWindow  *self,
                  const char *title)
{
  /* Toast titles are markup in libadwaita 1.2; a file's text is not. */
  g_autofree char *escaped = g_markup_escape_text (title, -1);
  AdwToast *toast = adw_toast_new (escaped);

  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
imp_window_error (ImpWindow    *self,
                  const char   *heading,
                  const GError *error)
{
  GtkWidget *dialog;

  /* The dialog tells the user; a warning would also abort runs under
   * G_DEBUG=fatal-warnings for what is only a bad file. */
  g_debug ("%s: %s", heading, error->message);

  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading,
                                   error->message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog),
                                   "close", _("_Close"));
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog),
                                           "close");
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
pulse_cb (gpointer data)
{
  ImpWindow *self = data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
imp_window_show_strip (ImpWindow  *self,
                       const char *stage,
                       gboolean    pulse)
{
  gtk_label_set_text (self->stage_label, stage);
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (pulse)
    self->pulse_id = g_timeout_add (120, pulse_cb, self);
  gtk_revealer_set_reveal_child (self->analysis_revealer, TRUE);
}

static void
imp_window_hide_strip (ImpWindow *self)
{
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  gtk_revealer_set_reveal_child (self->analysis_revealer, FALSE);
}

/* Analysis */

static gboolean
progress_idle_cb (gpointer data)
{
  ImpAnalysisJob *job = data;
  g_autoptr(ImpWindow) self = NULL;
  g_autofree char *stage = NULL;
  double fraction;

  g_mutex_lock (&job->mutex);
  fraction = job->fraction;
  stage = g_strdup (job->stage);
  job->idle_pending = FALSE;
  g_mutex_unlock (&job->mutex);

  self = g_weak_ref_get (&job->window);
  if (self == NULL || self->job != job)
    return G_SOURCE_REMOVE;

  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0, 1));
  if (stage != NULL)
    gtk_label_set_text (self->stage_label, stage);

  return G_SOURCE_REMOVE;
}

/* Runs in the worker thread. */
static void
analysis_progress_cb (double      fraction,
                      const char *stage,
                      gpointer    user_data)
{
  ImpAnalysisJob *job = user_data;

  g_mutex_lock (&job->mutex);

  job->fraction = fraction;
  if (stage != NULL && g_strcmp0 (stage, job->stage) != 0)
    {
      g_free (job->stage);
      job->stage = g_strdup (stage);
    }

  if (!job->idle_pending)
    {
      job->idle_pending = TRUE;
      g_idle_add_full (G_PRIORITY_LOW, progress_idle_cb,
                       imp_analysis_job_ref (job),
                       (GDestroyNotify) imp_analysis_job_unref);
    }

  g_mutex_unlock (&job->mutex);
}

static void
analysis_worker (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  ImpAnalysisJob *job = task_data;
  g_autoptr(GError) error = NULL;
  ImpAnalysisResult *result;

  g_assert (job != NULL);

  g_debug ("Analysis of %s started",
           imp_recording_get_path (job->recording));

  result = imp_analysis_run (job->recording, &job->params,
                             analysis_progress_cb, job,
                             cancellable, &error);
  if (result == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, result,
                           (GDestroyNotify) imp_analysis_result_unref);
}

static void
imp_window_finish_job (ImpWindow *self)
{
  g_clear_pointer (&self->job, imp_analysis_job_unref);
  g_clear_object (&self->analysis_cancellable);
  imp_window_hide_strip (self);
  imp_window_update_actions (self);
  imp_session_set_analyzing (self->session, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* The candidate of @result between @pre and @post, or -1. */
static int
find_candidate (ImpAnalysisResult *result,
                int                pre,
                int                post)
{
  if (pre < 0 || result->candidates == NULL)
    return -1;

  for (guint i = 0; i < result->candidates->len; i++)
    {
      ImpCandidate *candidate = g_ptr_array_index (result->candidates, i);

      if ((int) candidate->pre == pre && (int) candidate->post == post)
        return (int) i;
    }

  return -1;
}

/* Replaces the session's result, keeping the selected pair selected when
 * the new result still has it (running the analysis again, say). */
static void
imp_window_set_result (ImpWindow         *self,
                       ImpAnalysisResult *result)
{
  ImpCandidate *selected;
  int pre = -1;
  int post = -1;

  selected = imp_session_get_selected_candidate (self->session);
  if (selected != NULL)
    {
      pre = selected->pre;
      post = selected->post;
    }

  imp_session_set_result (self->session, result);
  imp_session_set_selected (self->session,
                            find_candidate (result, pre, post));
}

static void
analysis_done_cb (GObject      *source_object,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  g_autoptr(ImpAnalysisJob) job = user_data;
  g_autoptr(ImpAnalysisResult) result = NULL;
  g_autoptr(ImpWindow) self = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  result = g_task_propagate_pointer (G_TASK (res), &error);
  release_application (&job->app);

  /* A closed window, or a run that was cancelled or superseded. */
  self = g_weak_ref_get (&job->window);
  if (self == NULL || self->job != job)
    return;

  if (result == NULL)
    {
      imp_window_finish_job (self);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        imp_window_toast (self, _("Analysis cancelled"));
      else
        imp_window_error (self, _("Analysis Failed"), error);
      return;
    }

  g_debug ("Analysis finished: %u connections, %u by AP→AP",
           result->n_connections, result->n_ap_ap_connections);

  /* The result first, so that views never see an idle session without
   * it. */
  imp_window_set_result (self, result);
  imp_window_finish_job (self);

  message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "%u connection found "
                                          "(%u by AP→AP)",
                                          "%u connections found "
                                          "(%u by AP→AP)",
                                          result->n_connections),
                             result->n_connections,
                             result->n_ap_ap_connections);
  imp_window_toast (self, message);

  /* Channels skipped for want of signal, gaps in the data: said once
   * here, and in the Pairs view when nothing was found. */
  if (result->warning != NULL && *result->warning != '\0')
    {
      g_auto(GStrv) lines = g_strsplit (result->warning, "\n", 2);

      imp_window_toast (self, lines[0]);
    }
}

static void
imp_window_stop_analysis (ImpWindow *self)
{
  if (self->analysis_cancellable != NULL)
    g_cancellable_cancel (self->analysis_cancellable);
  if (self->job != NULL)
    imp_window_finish_job (self);
}

/**
 * imp_window_analyze:
 * @self: a #ImpWindow
 *
 * Runs the analysis of the open recording in a worker thread, cancelling
 * a run that is still going. The result goes to the window's session.
 */
void
imp_window_analyze (ImpWindow *self)
{
  g_autoptr(GTask) task = NULL;
  ImpRecording *recording;

  g_return_if_fail (IMP_IS_WINDOW (self));

  recording = imp_session_get_recording (self->session);
  if (recording == NULL)
    return;

  imp_window_stop_analysis (self);

  self->analysis_cancellable = g_cancellable_new ();
  self->job = imp_analysis_job_new (self, recording);

  task = g_task_new (NULL, self->analysis_cancellable, analysis_done_cb,
                     imp_analysis_job_ref (self->job));
  g_task_set_source_tag (task, imp_window_analyze);
  g_task_set_task_data (task, imp_analysis_job_ref (self->job),
                        (GDestroyNotify) imp_analysis_job_unref);
  g_task_run_in_thread (task, analysis_worker);

  imp_window_show_strip (self, _("Starting analysis…"), FALSE);
  imp_window_update_actions (self);
  imp_session_set_analyzing (self->session, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Level-of-detail pyramid */

static void
imp_pyramid_job_clear (gpointer data)
{
  ImpPyramidJob *job = data;

  g_weak_ref_clear (&job->window);
  g_clear_pointer (&job->recording, imp_recording_unref);
  g_clear_pointer (&job->pyramid, imp_pyramid_unref);
  g_mutex_clear (&job->mutex);
}

static ImpPyramidJob *
imp_pyramid_job_ref (ImpPyramidJob *job)
{
  return g_atomic_rc_box_acquire (job);
}

static void
imp_pyramid_job_unref (ImpPyramidJob *job)
{
  g_atomic_rc_box_release_full (job, imp_pyramid_job_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpPyramidJob, imp_pyramid_job_unref)

/* The window of @job, if the job is still its current one. */
static ImpWindow *
pyramid_job_window (ImpPyramidJob *job)
{
  ImpWindow *self = g_weak_ref_get (&job->window);

  if (self != NULL && self->pyramid_job != job)
    g_clear_object (&self);

  return self;
}

/* Main thread: the pyramid as far as it is built, to the views. */
static gboolean
pyramid_idle_cb (gpointer data)
{
  ImpPyramidJob *job = data;
  g_autoptr(ImpWindow) self = NULL;
  g_autoptr(ImpPyramid) pyramid = NULL;
  double fraction;

  g_mutex_lock (&job->mutex);
  if (job->pyramid != NULL)
    pyramid = imp_pyramid_ref (job->pyramid);
  fraction = job->fraction;
  job->idle_pending = FALSE;
  g_mutex_unlock (&job->mutex);

  self = pyramid_job_window (job);
  if (self == NULL || pyramid == NULL ||
      imp_session_get_recording (self->session) != job->recording)
    return G_SOURCE_REMOVE;

  if (imp_session_get_pyramid (self->session) != pyramid)
    {
      imp_session_set_pyramid (self->session, pyramid);
      imp_session_set_pyramid_growing (self->session,
                                       !imp_pyramid_is_complete (pyramid));
    }
  if (imp_session_get_pyramid_growing (self->session))
    imp_session_set_pyramid_progress (self->session, fraction);

  return G_SOURCE_REMOVE;
}

/* With @job->mutex held. */
static void
pyramid_schedule_idle (ImpPyramidJob *job)
{
  if (job->idle_pending)
    return;

  job->idle_pending = TRUE;
  g_idle_add_full (G_PRIORITY_LOW, pyramid_idle_cb,
                   imp_pyramid_job_ref (job),
                   (GDestroyNotify) imp_pyramid_job_unref);
}

/* Runs in the worker thread. */
static void
pyramid_progress_cb (double      fraction,
                     const char *stage,
                     gpointer    user_data)
{
  ImpPyramidJob *job = user_data;

  g_mutex_lock (&job->mutex);
  job->fraction = fraction;
  pyramid_schedule_idle (job);
  g_mutex_unlock (&job->mutex);
}

static void
pyramid_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ImpPyramidJob *job = task_data;
  g_autoptr(ImpPyramid) pyramid = NULL;
  g_autoptr(GError) error = NULL;

  pyramid = imp_pyramid_open (job->recording, NULL, &error);
  if (pyramid == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_mutex_lock (&job->mutex);
  job->pyramid = imp_pyramid_ref (pyramid);
  pyramid_schedule_idle (job);
  g_mutex_unlock (&job->mutex);

  if (!imp_pyramid_build (pyramid, pyramid_progress_cb, job, cancellable,
                          &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
pyramid_done_cb (GObject      *source_object,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  g_autoptr(ImpPyramidJob) job = user_data;
  g_autoptr(ImpWindow) self = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpPyramid) pyramid = NULL;
  gboolean ok;

  ok = g_task_propagate_boolean (G_TASK (res), &error);
  release_application (&job->app);

  self = pyramid_job_window (job);
  if (self == NULL || g_error_matches (error, G_IO_ERROR,
                                       G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->pyramid_cancellable);
  g_clear_pointer (&self->pyramid_job, imp_pyramid_job_unref);

  g_mutex_lock (&job->mutex);
  if (job->pyramid != NULL)
    pyramid = imp_pyramid_ref (job->pyramid);
  g_mutex_unlock (&job->mutex);

  if (pyramid != NULL &&
      imp_session_get_recording (self->session) == job->recording)
    {
      gint64 n = imp_recording_get_n_samples (job->recording);

      imp_session_set_pyramid (self->session, pyramid);
      imp_session_set_pyramid_growing (self->session, FALSE);
      imp_session_set_pyramid_progress (
        self->session,
        imp_pyramid_is_complete (pyramid) || n <= 0
          ? 1.0 : (double) imp_pyramid_get_built_samples (pyramid) / n);
    }

  /* The views go on from what is in memory; only the next open misses
   * it. The message says so ("The overview is not saved: …"). */
  if (!ok)
    {
      g_debug ("Pyramid of %s: %s",
               imp_recording_get_path (job->recording), error->message);
      imp_window_toast (self, error->message);
    }
}

static void
imp_window_stop_pyramid (ImpWindow *self)
{
  if (self->pyramid_cancellable != NULL)
    g_cancellable_cancel (self->pyramid_cancellable);
  g_clear_object (&self->pyramid_cancellable);
  g_clear_pointer (&self->pyramid_job, imp_pyramid_job_unref);
}

/* Opens the pyramid of @recording from its project file, or builds it in
 * the background, replacing any build still going. */
static void
imp_window_start_pyramid (ImpWindow    *self,
                          ImpRecording *recording)
{
  g_autoptr(GTask) task = NULL;
  ImpPyramidJob *job;

  imp_window_stop_pyramid (self);

  job = g_atomic_rc_box_new0 (ImpPyramidJob);
  g_weak_ref_init (&job->window, self);
  g_mutex_init (&job->mutex);
  job->recording = imp_recording_ref (recording);
  job->app = hold_application (self);

  self->pyramid_job = job;
  self->pyramid_cancellable = g_cancellable_new ();

  task = g_task_new (NULL, self->pyramid_cancellable, pyramid_done_cb,
                     imp_pyramid_job_ref (job));
  g_task_set_source_tag (task, imp_window_start_pyramid);
  g_task_set_task_data (task, imp_pyramid_job_ref (job),
                        (GDestroyNotify) imp_pyramid_job_unref);
  g_task_run_in_thread (task, pyramid_worker);
}

/* Opening */

static void
open_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GFile *file = task_data;
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);

  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("“%s” is not a local file"), uri);
      return;
    }

  recording = imp_recording_open (path, &error);
  if (recording == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_pointer (task, g_steal_pointer (&recording),
                           (GDestroyNotify) imp_recording_unref);
}

static void
imp_window_add_recent (ImpWindow *self,
                       GFile     *file)
{
  g_autofree char *uri = g_file_get_uri (file);
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *type = g_content_type_guess (name, NULL, 0, NULL);
  g_autofree char *mime = g_content_type_get_mime_type (type);
  GtkRecentData data = { 0 };

  data.display_name = name;
  data.mime_type = mime != NULL ? mime : (char *) "application/octet-stream";
  data.app_name = (char *) g_get_application_name ();
  data.app_exec = (char *) "imprint %f";

  gtk_recent_manager_add_full (self->recent_manager, uri, &data);
}

/* A recent file that no longer opens leaves the list at once, instead of
 * failing again from the start page. */
static void
imp_window_forget_recent (ImpWindow *self,
                          GFile     *file)
{
  g_autofree char *uri = g_file_get_uri (file);

  if (!gtk_recent_manager_has_item (self->recent_manager, uri))
    return;

  g_debug ("Removing %s from the recent files", uri);
  gtk_recent_manager_remove_item (self->recent_manager, uri, NULL);
  imp_window_update_recent (self);
}

static void
imp_window_set_recording (ImpWindow    *self,
                          GFile        *file,
                          ImpRecording *recording)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *subtitle = describe_recording (recording);
  g_autofree char *tooltip = g_strdup_printf ("%s\n%s", name, subtitle);
  const char *warning;

  g_debug ("Opened %s: %s", name, subtitle);

  imp_session_set_recording (self->session, recording);

  gtk_window_set_title (GTK_WINDOW (self), name);
  adw_view_switcher_title_set_title (self->switcher_title, name);
  adw_view_switcher_title_set_subtitle (self->switcher_title, subtitle);
  gtk_label_set_text (self->file_name_label, name);
  gtk_label_set_text (self->file_details_label, subtitle);
  gtk_widget_set_tooltip_text (self->file_title, tooltip);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->switcher_title), tooltip);
  adw_view_switcher_title_set_view_switcher_enabled (self->switcher_title,
                                                     TRUE);
  gtk_stack_set_visible_child_name (self->main_stack, "views");
  gtk_widget_child_focus (adw_view_stack_get_visible_child (self->view_stack),
                          GTK_DIR_TAB_FORWARD);
  imp_window_add_recent (self, file);

  warning = imp_recording_get_warning (recording);
  if (warning != NULL && *warning != '\0')
    imp_window_toast (self, warning);
}

static void
open_done_cb (GObject      *source_object,
              GAsyncResult *res,
              gpointer      user_data)
{
  ImpWindow *self = IMP_WINDOW (source_object);
  GFile *file = g_task_get_task_data (G_TASK (res));
  GApplication *app = user_data;
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *heading = NULL;
  g_autofree char *name = NULL;

  recording = g_task_propagate_pointer (G_TASK (res), &error);
  release_application (&app);

  /* Superseded by a newer open, cancelled, or the window is closing. */
  if (g_task_get_cancellable (G_TASK (res)) != self->open_cancellable)
    return;

  g_clear_object (&self->open_cancellable);
  imp_window_hide_strip (self);
  imp_window_update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);

  if (recording == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      name = g_file_get_basename (file);
      heading = g_strdup_printf (_("Could Not Open “%s”"), name);
      imp_window_forget_recent (self, file);
      imp_window_error (self, heading, error);
      return;
    }

  imp_window_set_recording (self, file, recording);
  imp_window_start_pyramid (self, recording);
  imp_window_analyze (self);
}

/**
 * imp_window_open:
 * @self: a #ImpWindow
 * @file: the recording to open
 *
 * Opens @file in a worker thread, replacing what the window shows, and
 * starts its analysis. Errors are shown in a dialog.
 */
void
imp_window_open (ImpWindow *self,
                 GFile     *file)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *name = NULL;
  g_autofree char *stage = NULL;

  g_return_if_fail (IMP_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  imp_window_stop_analysis (self);
  imp_window_stop_pyramid (self);
  if (self->open_cancellable != NULL)
    g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);

  self->open_cancellable = g_cancellable_new ();

  task = g_task_new (self, self->open_cancellable, open_done_cb,
                     hold_application (self));
  g_task_set_source_tag (task, imp_window_open);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_run_in_thread (task, open_worker);

  name = g_file_get_basename (file);
  stage = g_strdup_printf (_("Opening “%s”…"), name);
  imp_window_show_strip (self, stage, TRUE);
  imp_window_update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* File chooser */

static void
chooser_response_cb (ImpWindow            *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

  g_clear_object (&self->chooser);

  if (file != NULL)
    imp_window_open (self, file);
}

static void
open_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ImpWindow *self = IMP_WINDOW (widget);
  g_autoptr(GtkFileFilter) recordings = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();
  static const char * const patterns[] = {
    "*.h5", "*.hdf5", "*.nwb", "*.abf", "*.dat", "*.cfs", "*.gdf", NULL
  };

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }

  gtk_file_filter_set_name (recordings, _("Recordings"));
  for (guint i = 0; patterns[i] != NULL; i++)
    gtk_file_filter_add_pattern (recordings, patterns[i]);
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");

  self->chooser = gtk_file_chooser_native_new (_("Open Recording"),
                                               GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), recordings);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
  g_signal_connect_object (self->chooser, "response",
                           G_CALLBACK (chooser_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Actions */

static void
analyze_action_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  imp_window_analyze (IMP_WINDOW (widget));
}

static void
cancel_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  ImpWindow *self = IMP_WINDOW (widget);

  if (self->open_cancellable != NULL)
    {
      g_cancellable_cancel (self->open_cancellable);
      g_clear_object (&self->open_cancellable);
      imp_window_hide_strip (self);
      imp_window_update_actions (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
      imp_window_toast (self, _("Opening cancelled"));
      return;
    }

  if (self->job != NULL)
    {
      g_debug ("Analysis cancelled");
      imp_window_stop_analysis (self);
      imp_window_toast (self, _("Analysis cancelled"));
    }
}

/* Ctrl+F: the Pairs view's search field, the one place to find a pair
 * by channel. */
static void
find_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ImpWindow *self = IMP_WINDOW (widget);
  GtkWidget *pairs;

  if (imp_session_get_recording (self->session) == NULL)
    return;
  pairs = adw_view_stack_get_child_by_name (self->view_stack, "pairs");
  if (pairs == NULL)
    return;
  adw_view_stack_set_visible_child (self->view_stack, pairs);
  imp_pairs_view_focus_search (IMP_PAIRS_VIEW (pairs));
}

static void
show_view_action_cb (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  ImpWindow *self = IMP_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);

  if (imp_session_get_recording (self->session) == NULL)
    return;

  if (adw_view_stack_get_child_by_name (self->view_stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->view_stack, name);
}

static void
imp_window_update_actions (ImpWindow *self)
{
  gboolean has_recording;
  gboolean busy;

  has_recording = imp_session_get_recording (self->session) != NULL;
  busy = self->job != NULL || self->open_cancellable != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.analyze",
                                 has_recording);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel", busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.show-view",
                                 has_recording);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.show-overview",
                                 has_recording);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.overlay-sweeps",
                                 has_recording &&
                                 imp_recording_get_n_sweeps (
                                   imp_session_get_recording (self->session))
                                 > 1);
}

/* Recent files */

static gint
compare_recent_cb (gconstpointer a,
                   gconstpointer b)
{
  GtkRecentInfo *info_a = *(GtkRecentInfo **) a;
  GtkRecentInfo *info_b = *(GtkRecentInfo **) b;
  GDateTime *time_a = gtk_recent_info_get_modified (info_a);
  GDateTime *time_b = gtk_recent_info_get_modified (info_b);

  return g_date_time_compare (time_b, time_a);
}

static GtkWidget *
create_recent_row (GtkRecentInfo *info)
{
  g_autoptr(GFile) file = g_file_new_for_uri (gtk_recent_info_get_uri (info));
  g_autoptr(GFile) parent = g_file_get_parent (file);
  g_autofree char *dir = NULL;
  g_autofree char *title = NULL;
  GtkWidget *row;

  if (parent != NULL)
    {
      g_autofree char *path = g_file_get_path (parent);
      const char *home = g_get_home_dir ();

      if (path != NULL && g_str_has_prefix (path, home) &&
          (path[strlen (home)] == '/' || path[strlen (home)] == '\0'))
        dir = g_strconcat ("~", path + strlen (home), NULL);
      else
        dir = g_steal_pointer (&path);
    }

  title = g_markup_escape_text (gtk_recent_info_get_display_name (info), -1);

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (dir != NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (dir, -1);

      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), escaped);
    }
  adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                             gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data_full (G_OBJECT (row), "file",
                          g_steal_pointer (&file), g_object_unref);

  return row;
}

static void
imp_window_update_recent (ImpWindow *self)
{
  g_autoptr(GPtrArray) items = NULL;
  GtkWidget *child;
  GList *list;
  const char *app_name = g_get_application_name ();

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))))
    gtk_list_box_remove (self->recent_list, child);

  items = g_ptr_array_new_with_free_func (
            (GDestroyNotify) gtk_recent_info_unref);
  list = gtk_recent_manager_get_items (self->recent_manager);
  for (GList *l = list; l != NULL; l = l->next)
    {
      GtkRecentInfo *info = l->data;

      if (app_name != NULL &&
          gtk_recent_info_has_application (info, app_name) &&
          gtk_recent_info_is_local (info) &&
          gtk_recent_info_exists (info))
        g_ptr_array_add (items, info);
      else
        gtk_recent_info_unref (info);
    }
  g_list_free (list);

  g_ptr_array_sort (items, compare_recent_cb);

  for (guint i = 0; i < items->len && i < MAX_RECENT; i++)
    gtk_list_box_append (self->recent_list,
                         create_recent_row (g_ptr_array_index (items, i)));

  gtk_widget_set_visible (self->recent_box, items->len > 0);
}

static void
recent_row_activated_cb (ImpWindow     *self,
                         GtkListBoxRow *row)
{
  GFile *file = g_object_get_data (G_OBJECT (row), "file");

  if (file != NULL)
    imp_window_open (self, file);
}

/* Drag and drop */

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         ImpWindow     *self)
{
  GApplication *app;

  if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    {
      imp_window_open (self, g_value_get_object (value));
      return TRUE;
    }

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = g_value_get_boxed (value);
      g_autoptr(GPtrArray) rest = g_ptr_array_new ();

      if (files == NULL)
        return FALSE;

      imp_window_open (self, files->data);

      /* Further files each get a window of their own. */
      for (GSList *l = files->next; l != NULL; l = l->next)
        g_ptr_array_add (rest, l->data);
      app = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
      if (rest->len > 0 && app != NULL)
        g_application_open (app, (GFile **) rest->pdata, rest->len, "");
      return TRUE;
    }

  return FALSE;
}

/* Layout */

static gboolean
update_header_cb (gpointer data)
{
  ImpWindow *self = data;
  gboolean narrow;
  gboolean open;

  self->header_idle_id = 0;

  narrow = adw_view_switcher_title_get_title_visible (self->switcher_title);
  open = imp_session_get_recording (self->session) != NULL;
  adw_view_switcher_bar_set_reveal (self->switcher_bar, narrow && open);
  gtk_widget_set_visible (self->file_title, !narrow && open);
  gtk_widget_set_visible (self->overview_button, open);

  return G_SOURCE_REMOVE;
}

/* The switcher title decides whether it fits while it is allocated; the
 * header is changed afterwards, not in the middle of a size allocation. */
static void
queue_update_header (ImpWindow *self)
{
  if (self->header_idle_id == 0)
    self->header_idle_id = g_idle_add (update_header_cb, self);
}

static void
recording_changed_cb (ImpWindow *self)
{
  queue_update_header (self);
  imp_window_update_actions (self);
}

static void
imp_window_add_views (ImpWindow *self)
{
  static const struct {
    const char *name;
    const char *title;
    const char *icon;
    GtkWidget *(*create) (ImpSession *session);
  } views[] = {
    { "traces", N_("Traces"), "imp-traces-symbolic", imp_traces_view_new },
    { "pairs", N_("Pairs"), "imp-pairs-symbolic", imp_pairs_view_new },
    { "histograms", N_("Histograms"), "imp-histograms-symbolic",
      imp_histogram_view_new },
    { "map", N_("Map"), "imp-map-symbolic", imp_map_view_new },
    { "imprint", N_("Imprint"), "imp-imprint-symbolic", imp_imprint_view_new },
  };

  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      GtkWidget *view = views[i].create (self->session);
      AdwViewStackPage *page;

      if (i == 0)
        self->traces_view = view;

      page = adw_view_stack_add_titled (self->view_stack, view,
                                        views[i].name, _(views[i].title));
      adw_view_stack_page_set_icon_name (page, views[i].icon);
    }
}

/* GObject */

static void
imp_window_dispose (GObject *object)
{
  ImpWindow *self = IMP_WINDOW (object);

  if (self->open_cancellable != NULL)
    g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  if (self->analysis_cancellable != NULL)
    g_cancellable_cancel (self->analysis_cancellable);
  g_clear_object (&self->analysis_cancellable);
  g_clear_pointer (&self->job, imp_analysis_job_unref);
  imp_window_stop_pyramid (self);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  g_clear_handle_id (&self->header_idle_id, g_source_remove);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  if (self->recent_manager != NULL)
    g_signal_handlers_disconnect_by_data (self->recent_manager, self);
  g_clear_object (&self->recent_manager);

  G_OBJECT_CLASS (imp_window_parent_class)->dispose (object);

  g_clear_object (&self->session);
}

static void
imp_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  ImpWindow *self = IMP_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;

    case PROP_BUSY:
      g_value_set_boolean (value, imp_window_get_busy (self));
      break;

    case PROP_SHOW_OVERVIEW:
      g_value_set_boolean (value, self->show_overview);
      break;

    case PROP_OVERLAY_SWEEPS:
      g_value_set_boolean (value, self->overlay_sweeps);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_window_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  ImpWindow *self = IMP_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SHOW_OVERVIEW:
      imp_window_set_show_overview (self, g_value_get_boolean (value));
      break;

    case PROP_OVERLAY_SWEEPS:
      if (self->overlay_sweeps == g_value_get_boolean (value))
        break;
      self->overlay_sweeps = g_value_get_boolean (value);
      g_object_notify_by_pspec (object, pspec);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_window_class_init (ImpWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  static const char * const view_names[] = {
    "traces", "pairs", "histograms", "map", "imprint"
  };

  object_class->dispose = imp_window_dispose;
  object_class->get_property = imp_window_get_property;
  object_class->set_property = imp_window_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         IMP_TYPE_SESSION,
                         (G_PARAM_READABLE |
                          G_PARAM_STATIC_STRINGS));

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  properties[PROP_SHOW_OVERVIEW] =
    g_param_spec_boolean ("show-overview", NULL, NULL,
                          TRUE,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  properties[PROP_OVERLAY_SWEEPS] =
    g_param_spec_boolean ("overlay-sweeps", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/imprint/Imprint/imp-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow,
                                        switcher_title);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, switcher_bar);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, file_title);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow,
                                        file_name_label);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow,
                                        file_details_label);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow,
                                        analysis_revealer);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, stage_label);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, recent_box);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, recent_list);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, ImpWindow,
                                        overview_button);
  gtk_widget_class_bind_template_callback (widget_class,
                                           recent_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "win.open", NULL,
                                   open_action_cb);
  gtk_widget_class_install_action (widget_class, "win.analyze", NULL,
                                   analyze_action_cb);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL,
                                   cancel_action_cb);
  gtk_widget_class_install_action (widget_class, "win.show-view", "s",
                                   show_view_action_cb);
  gtk_widget_class_install_action (widget_class, "win.find", NULL,
                                   find_action_cb);
  gtk_widget_class_install_property_action (widget_class,
                                            "win.show-overview",
                                            "show-overview");
  gtk_widget_class_install_property_action (widget_class,
                                            "win.overlay-sweeps",
                                            "overlay-sweeps");

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0,
                                       "win.show-overview", NULL);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "win.cancel", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (view_names); i++)
    {
      gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i,
                                           GDK_ALT_MASK, "win.show-view",
                                           "s", view_names[i]);
      gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_1 + i,
                                           GDK_ALT_MASK, "win.show-view",
                                           "s", view_names[i]);
    }
}

/* Larger than the template's 1200 × 780 where the screen has room, so
 * that the header has space for the file's details beside the views. */
static void
imp_window_fit_default_size (ImpWindow *self)
{
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (self));
  GListModel *monitors = gdk_display_get_monitors (display);
  g_autoptr(GdkMonitor) monitor = NULL;
  GdkRectangle area;
  int width, height;

  if (g_list_model_get_n_items (monitors) == 0)
    return;

  monitor = g_list_model_get_item (monitors, 0);
  gdk_monitor_get_geometry (monitor, &area);
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);

  width = MAX (width, MIN (DEFAULT_MAX_WIDTH, area.width * 9 / 10));
  height = MAX (height, MIN (DEFAULT_MAX_HEIGHT, area.height * 9 / 10));
  gtk_window_set_default_size (GTK_WINDOW (self), width, height);
}

static void
imp_window_init (ImpWindow *self)
{
  GtkDropTarget *target;
  GType types[] = { GDK_TYPE_FILE_LIST, G_TYPE_FILE };

  gtk_widget_init_template (GTK_WIDGET (self));
  imp_window_fit_default_size (self);

  self->session = imp_session_new ();
  g_signal_connect_object (self->session, "notify::recording",
                           G_CALLBACK (recording_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->switcher_title, "notify::title-visible",
                           G_CALLBACK (queue_update_header), self,
                           G_CONNECT_SWAPPED);

  imp_window_add_views (self);
  self->array_view = imp_array_view_new (self->session);
  adw_bin_set_child (self->sidebar, self->array_view);
  self->show_overview = TRUE;
  g_object_bind_property (self, "overlay-sweeps",
                          self->traces_view, "overlay-sweeps",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);

  self->recent_manager = g_object_ref (gtk_recent_manager_get_default ());
  g_signal_connect_swapped (self->recent_manager, "changed",
                            G_CALLBACK (imp_window_update_recent), self);
  imp_window_update_recent (self);

  target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (target, types, G_N_ELEMENTS (types));
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  imp_window_update_actions (self);
  update_header_cb (self);
}

/**
 * imp_window_new:
 * @application: the application
 *
 * Returns: (transfer none): a new window with nothing open
 */
ImpWindow *
imp_window_new (GtkApplication *application)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);

  return g_object_new (IMP_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

/**
 * imp_window_get_session:
 * @self: a #ImpWindow
 *
 * Returns: (transfer none): what the window shows
 */
ImpSession *
imp_window_get_session (ImpWindow *self)
{
  g_return_val_if_fail (IMP_IS_WINDOW (self), NULL);

  return self->session;
}

/**
 * imp_window_set_show_overview:
 * @self: a #ImpWindow
 * @show: whether to show the array overview
 *
 * Shows or hides the array overview beside the views (F9).
 */
void
imp_window_set_show_overview (ImpWindow *self,
                              gboolean   show)
{
  g_return_if_fail (IMP_IS_WINDOW (self));

  show = !!show;
  if (show == self->show_overview)
    return;

  self->show_overview = show;
  gtk_widget_set_visible (GTK_WIDGET (self->sidebar), show);
  g_object_notify_by_pspec (G_OBJECT (self),
                            properties[PROP_SHOW_OVERVIEW]);
}

/**
 * imp_window_get_busy:
 * @self: a #ImpWindow
 *
 * Returns: %TRUE while a recording is being opened or analysed
 */
gboolean
imp_window_get_busy (ImpWindow *self)
{
  g_return_val_if_fail (IMP_IS_WINDOW (self), FALSE);

  return self->job != NULL || self->open_cancellable != NULL;
}
