/* imp-texture-pool.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "imp-texture-pool.h"

/* Spare buffers kept: one on screen, one being drawn, one in flight. */
#define MAX_SPARE 2

/* Shared by the pool and its textures' buffers, which may outlive it. */
typedef struct
{
  GMutex     mutex;
  GPtrArray *spare;      /* buffers of @size bytes, in no texture */
  gsize      size;
  gboolean   closed;     /* the pool is gone: free what comes back */
} Store;

typedef struct
{
  Store   *store;
  gpointer data;
  gsize    size;
} Loan;

struct _ImpTexturePool
{
  Store *store;
  Loan  *drawing;        /* between _begin () and _finish () */
  guint  n_allocated;
};

static void
store_clear (gpointer data)
{
  Store *store = data;

  g_ptr_array_unref (store->spare);
  g_mutex_clear (&store->mutex);
}

static void
store_unref (Store *store)
{
  g_atomic_rc_box_release_full (store, store_clear);
}

/* Whoever frees the texture's bytes, on whatever thread. */
static void
loan_end (gpointer user_data)
{
  Loan *loan = user_data;
  Store *store = loan->store;

  g_mutex_lock (&store->mutex);
  if (!store->closed && loan->size == store->size &&
      store->spare->len < MAX_SPARE)
    g_ptr_array_add (store->spare, g_steal_pointer (&loan->data));
  g_mutex_unlock (&store->mutex);

  g_free (loan->data);
  store_unref (store);
  g_free (loan);
}

/**
 * imp_texture_pool_new:
 *
 * Returns: (transfer full): an empty pool
 */
ImpTexturePool *
imp_texture_pool_new (void)
{
  ImpTexturePool *self = g_new0 (ImpTexturePool, 1);

  self->store = g_atomic_rc_box_new0 (Store);
  g_mutex_init (&self->store->mutex);
  self->store->spare = g_ptr_array_new_with_free_func (g_free);

  return self;
}

/**
 * imp_texture_pool_free:
 * @self: (nullable): a #ImpTexturePool
 *
 * Frees the pool; textures made from it stay valid.
 */
void
imp_texture_pool_free (ImpTexturePool *self)
{
  if (self == NULL)
    return;

  if (self->drawing != NULL)
    loan_end (self->drawing);

  g_mutex_lock (&self->store->mutex);
  self->store->closed = TRUE;
  g_ptr_array_set_size (self->store->spare, 0);
  g_mutex_unlock (&self->store->mutex);

  store_unref (self->store);
  g_free (self);
}

/**
 * imp_texture_pool_begin:
 * @self: a #ImpTexturePool
 * @width: in pixels, > 0
 * @height: in pixels, > 0
 * @image: (out caller-allocates): where to draw
 *
 * Lends a buffer, cleared to transparent, until imp_texture_pool_finish().
 */
void
imp_texture_pool_begin (ImpTexturePool *self,
                        int             width,
                        int             height,
                        ImpRasterImage *image)
{
  Store *store;
  Loan *loan;
  gsize size;

  g_return_if_fail (self != NULL && image != NULL);
  g_return_if_fail (width > 0 && height > 0);

  store = self->store;
  size = (gsize) width * height * sizeof (guint32);
  if (self->drawing != NULL)
    loan_end (g_steal_pointer (&self->drawing));

  loan = g_new0 (Loan, 1);
  loan->store = g_atomic_rc_box_acquire (store);
  loan->size = size;

  g_mutex_lock (&store->mutex);
  if (store->size != size)
    {
      g_ptr_array_set_size (store->spare, 0);
      store->size = size;
    }
  if (store->spare->len > 0)
    loan->data = g_ptr_array_steal_index_fast (store->spare,
                                               store->spare->len - 1);
  g_mutex_unlock (&store->mutex);

  if (loan->data == NULL)
    {
      loan->data = g_malloc (size);
      self->n_allocated++;
    }
  memset (loan->data, 0, size);

  self->drawing = loan;
  image->pixels = loan->data;
  image->width = width;
  image->height = height;
  image->stride = width;
}

/**
 * imp_texture_pool_finish:
 * @self: a #ImpTexturePool
 * @image: the image from imp_texture_pool_begin()
 *
 * Returns: (transfer full): a premultiplied texture of @image, holding
 *   its buffer until it is freed
 */
GdkTexture *
imp_texture_pool_finish (ImpTexturePool *self,
                         ImpRasterImage *image)
{
  g_autoptr(GBytes) bytes = NULL;
  Loan *loan;

  g_return_val_if_fail (self != NULL && image != NULL, NULL);
  g_return_val_if_fail (self->drawing != NULL, NULL);
  g_return_val_if_fail (image->pixels == self->drawing->data, NULL);

  loan = g_steal_pointer (&self->drawing);
  bytes = g_bytes_new_with_free_func (loan->data, loan->size, loan_end,
                                      loan);

  /* Cairo's ARGB32, premultiplied, in the machine's byte order. */
  return gdk_memory_texture_new (image->width, image->height,
                                 GDK_MEMORY_DEFAULT, bytes,
                                 (gsize) image->stride * sizeof (guint32));
}

/**
 * imp_texture_pool_get_n_allocated:
 * @self: a #ImpTexturePool
 *
 * Returns: how many buffers the pool has allocated so far
 */
guint
imp_texture_pool_get_n_allocated (ImpTexturePool *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_allocated;
}
