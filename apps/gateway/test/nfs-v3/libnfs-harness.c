/*
 * A libnfs client for the NFSv3 interop tests (test/nfs-v3/libnfs.test.ts compiles it with
 * `gcc -O2 libnfs-harness.c -lnfs -lpthread`). Each command prints "ok <step>" lines and exits
 * 0, or prints "FAIL <step>: <reason>" and exits 1.
 *
 *   harness URL ops DIR                  rename, link, symlink, chmod, truncate, utimes
 *   harness URL list DIR                 READDIRPLUS through opendir: prints "count N"
 *   harness URL writers FILE K BYTES     K sessions write disjoint parts of one file at once
 *   harness URL unstable FILE BYTES      raw UNSTABLE WRITEs then COMMIT: prints the verifiers
 *   harness URL files DIR N              (bench) one session creates, writes 4 KiB to, closes N files
 *   harness URL dirs DIR N               (bench) one session makes, renames and removes N directories
 *   harness URL statvfs DIR              statvfs (FSSTAT) as the URL's uid/gid: prints its fields
 *   harness URL tamper FILE              tries to write, truncate, chmod, utimes, replace (rename over)
 *                                        and remove FILE: prints "allowed <op>" or "refused <op>: <error>"
 *   harness URL getattr FILE K SECONDS [T]  (bench) K sessions send GETATTRs back to back from T
 *                                        threads (default K): rate, p50, p99
 *
 * URL names the export: nfs://127.0.0.1/export?nfsport=P&mountport=M&version=3
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

/* libnfs-private.h's layout of what nfs_get_fh() returns (not in the public headers). */
struct nfs_fh {
	int len;
	char *val;
};

static const char *url_text;

#define CHECK(step, cond, ...)                                                   \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("FAIL %s: ", step);                               \
			printf(__VA_ARGS__);                                     \
			printf("\n");                                            \
			exit(1);                                                 \
		}                                                                \
	} while (0)

static struct nfs_context *connect_export(void)
{
	struct nfs_context *nfs = nfs_init_context();
	CHECK("init", nfs != NULL, "no context");
	struct nfs_url *url = nfs_parse_url_dir(nfs, url_text);
	CHECK("url", url != NULL, "%s", nfs_get_error(nfs));
	int rc = nfs_mount(nfs, url->server, url->path);
	CHECK("mount", rc == 0, "%s", nfs_get_error(nfs));
	nfs_destroy_url(url);
	return nfs;
}

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_all(struct nfs_context *nfs, struct nfsfh *fh, uint64_t off, const void *buf,
		      uint64_t len, const char *step)
{
	uint64_t done = 0;
	while (done < len) {
		int n = nfs_pwrite(nfs, fh, off + done, len - done, (const char *)buf + done);
		CHECK(step, n > 0, "pwrite: %s", nfs_get_error(nfs));
		done += (uint64_t)n;
	}
}

static void read_all(struct nfs_context *nfs, struct nfsfh *fh, uint64_t off, void *buf, uint64_t len,
		     const char *step)
{
	uint64_t done = 0;
	while (done < len) {
		int n = nfs_pread(nfs, fh, off + done, len - done, (char *)buf + done);
		CHECK(step, n > 0, "pread at %" PRIu64 ": %s", off + done, nfs_get_error(nfs));
		done += (uint64_t)n;
	}
}

static int cmd_ops(const char *dir)
{
	struct nfs_context *nfs = connect_export();
	char a[512], b[512], c[512], s[512], sub[512];
	struct nfs_stat_64 st, st2;
	struct nfsfh *fh;

	CHECK("mkdir", nfs_mkdir(nfs, dir) == 0, "%s", nfs_get_error(nfs));
	path_of(a, sizeof a, dir, "a");
	path_of(b, sizeof b, dir, "b");
	path_of(c, sizeof c, dir, "c");
	path_of(s, sizeof s, dir, "s");
	path_of(sub, sizeof sub, dir, "sub");
	printf("ok mkdir\n");

	CHECK("create", nfs_creat(nfs, a, 0644, &fh) == 0, "%s", nfs_get_error(nfs));
	write_all(nfs, fh, 0, "hello world", 11, "write");
	CHECK("close", nfs_close(nfs, fh) == 0, "%s", nfs_get_error(nfs));
	printf("ok create\n");

	CHECK("rename", nfs_rename(nfs, a, b) == 0, "%s", nfs_get_error(nfs));
	CHECK("rename-gone", nfs_stat64(nfs, a, &st) == -ENOENT, "old name still there");
	CHECK("rename-stat", nfs_stat64(nfs, b, &st) == 0 && st.nfs_size == 11, "size %" PRIu64, st.nfs_size);
	CHECK("mkdir-sub", nfs_mkdir(nfs, sub) == 0, "%s", nfs_get_error(nfs));
	char moved[600];
	snprintf(moved, sizeof moved, "%s/moved", sub);
	CHECK("rename-dir", nfs_rename(nfs, b, moved) == 0 && nfs_rename(nfs, moved, b) == 0, "%s",
	      nfs_get_error(nfs));
	printf("ok rename\n");

	CHECK("link", nfs_link(nfs, b, c) == 0, "%s", nfs_get_error(nfs));
	CHECK("link-stat", nfs_stat64(nfs, c, &st2) == 0, "%s", nfs_get_error(nfs));
	CHECK("link-nlink", st2.nfs_nlink == 2, "nlink %" PRIu64, st2.nfs_nlink);
	CHECK("link-ino", st2.nfs_ino == st.nfs_ino, "different inode");
	printf("ok link\n");

	CHECK("symlink", nfs_symlink(nfs, "b", s) == 0, "%s", nfs_get_error(nfs));
	char target[256] = {0};
	CHECK("readlink", nfs_readlink(nfs, s, target, sizeof target) == 0, "%s", nfs_get_error(nfs));
	CHECK("readlink-value", strcmp(target, "b") == 0, "target '%s'", target);
	CHECK("lstat", nfs_lstat64(nfs, s, &st) == 0 && S_ISLNK(st.nfs_mode), "mode %" PRIo64, st.nfs_mode);
	printf("ok symlink\n");

	CHECK("chmod", nfs_chmod(nfs, b, 0600) == 0, "%s", nfs_get_error(nfs));
	CHECK("chmod-stat", nfs_stat64(nfs, b, &st) == 0 && (st.nfs_mode & 07777) == 0600, "mode %" PRIo64,
	      st.nfs_mode);
	printf("ok chmod\n");

	CHECK("truncate", nfs_truncate(nfs, b, 5) == 0, "%s", nfs_get_error(nfs));
	CHECK("truncate-stat", nfs_stat64(nfs, b, &st) == 0 && st.nfs_size == 5, "size %" PRIu64, st.nfs_size);
	CHECK("truncate-grow", nfs_truncate(nfs, b, 100000) == 0, "%s", nfs_get_error(nfs));
	CHECK("open", nfs_open(nfs, b, O_RDONLY, &fh) == 0, "%s", nfs_get_error(nfs));
	char *buf = calloc(1, 100000);
	read_all(nfs, fh, 0, buf, 100000, "truncate-read");
	CHECK("truncate-bytes", memcmp(buf, "hello", 5) == 0, "head '%.5s'", buf);
	for (int i = 5; i < 100000; i++) CHECK("truncate-zeros", buf[i] == 0, "byte %d is %d", i, buf[i]);
	free(buf);
	nfs_close(nfs, fh);
	printf("ok truncate\n");

	struct timeval times[2] = {{1000000000, 500000}, {1200000000, 250000}};
	CHECK("utimes", nfs_utimes(nfs, b, times) == 0, "%s", nfs_get_error(nfs));
	CHECK("utimes-stat", nfs_stat64(nfs, b, &st) == 0, "%s", nfs_get_error(nfs));
	CHECK("utimes-mtime", st.nfs_mtime == 1200000000 && st.nfs_mtime_nsec == 250000000,
	      "mtime %" PRIu64 ".%09" PRIu64, st.nfs_mtime, st.nfs_mtime_nsec);
	CHECK("utimes-atime", st.nfs_atime == 1000000000 && st.nfs_atime_nsec == 500000000,
	      "atime %" PRIu64 ".%09" PRIu64, st.nfs_atime, st.nfs_atime_nsec);
	printf("ok utimes\n");

	CHECK("unlink", nfs_unlink(nfs, c) == 0, "%s", nfs_get_error(nfs));
	CHECK("unlink-nlink", nfs_stat64(nfs, b, &st) == 0 && st.nfs_nlink == 1, "nlink %" PRIu64, st.nfs_nlink);
	CHECK("rmdir-full", nfs_rmdir(nfs, dir) == -ENOTEMPTY, "%s", nfs_get_error(nfs));
	printf("ok unlink\n");
	nfs_destroy_context(nfs);
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Lists a directory (READDIRPLUS) `times` times; counts are of one listing, the rate of all.
 * libnfs's directory cache is off: each listing reads the directory from the server.
 */
static int cmd_list(const char *dir, long times)
{
	struct nfs_context *nfs = connect_export();
	nfs_set_dircache(nfs, 0);
	long count = 0, with_attrs = 0, listed = 0;
	double start = now_seconds();
	for (long t = 0; t < times; t++) {
		struct nfsdir *d;
		CHECK("opendir", nfs_opendir(nfs, dir, &d) == 0, "%s", nfs_get_error(nfs));
		struct nfsdirent *e;
		count = with_attrs = 0;
		while ((e = nfs_readdir(nfs, d)) != NULL) {
			if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0) continue;
			count++;
			if (e->type == NF3REG && e->inode != 0 && e->nlink == 1) with_attrs++;
		}
		nfs_closedir(nfs, d);
		listed += count;
	}
	double seconds = now_seconds() - start;
	printf("count %ld\nattrs %ld\nseconds %.3f\nentries_per_sec %.1f\n", count, with_attrs, seconds,
	       (double)listed / seconds);
	nfs_destroy_context(nfs);
	return 0;
}

struct writer {
	const char *file;
	uint64_t offset, length;
	int index;
};

static void fill(char *buf, uint64_t offset, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) buf[i] = (char)(((offset + i) * 2654435761u) >> 13);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct nfs_context *nfs = connect_export();
	struct nfsfh *fh;
	CHECK("writer-open", nfs_open(nfs, w->file, O_WRONLY, &fh) == 0, "%s", nfs_get_error(nfs));
	const uint64_t chunk = 256 * 1024;
	char *buf = malloc(chunk);
	for (uint64_t off = 0; off < w->length; off += chunk) {
		uint64_t n = w->length - off < chunk ? w->length - off : chunk;
		fill(buf, w->offset + off, n);
		write_all(nfs, fh, w->offset + off, buf, n, "writer-write");
	}
	CHECK("writer-fsync", nfs_fsync(nfs, fh) == 0, "%s", nfs_get_error(nfs));
	nfs_close(nfs, fh);
	free(buf);
	nfs_destroy_context(nfs);
	return NULL;
}

static int cmd_writers(const char *file, int k, uint64_t bytes)
{
	struct nfs_context *nfs = connect_export();
	struct nfsfh *fh;
	CHECK("create", nfs_creat(nfs, file, 0644, &fh) == 0, "%s", nfs_get_error(nfs));
	nfs_close(nfs, fh);
	pthread_t threads[64];
	struct writer ws[64];
	uint64_t part = bytes / (uint64_t)k;
	for (int i = 0; i < k; i++) {
		ws[i] = (struct writer){file, part * (uint64_t)i, i == k - 1 ? bytes - part * (uint64_t)i : part, i};
		pthread_create(&threads[i], NULL, writer_main, &ws[i]);
	}
	for (int i = 0; i < k; i++) pthread_join(threads[i], NULL);
	printf("ok writers\n");
	CHECK("open", nfs_open(nfs, file, O_RDONLY, &fh) == 0, "%s", nfs_get_error(nfs));
	char *got = malloc(bytes), *want = malloc(bytes);
	read_all(nfs, fh, 0, got, bytes, "verify-read");
	fill(want, 0, bytes);
	for (uint64_t i = 0; i < bytes; i++)
		CHECK("verify", got[i] == want[i], "byte %" PRIu64 " differs", i);
	struct nfs_stat_64 st;
	CHECK("verify-size", nfs_stat64(nfs, file, &st) == 0 && st.nfs_size == bytes, "size %" PRIu64, st.nfs_size);
	printf("ok verify\n");
	nfs_close(nfs, fh);
	nfs_destroy_context(nfs);
	return 0;
}

/* ---- raw WRITE UNSTABLE + COMMIT ------------------------------------------------------------ */

struct pending {
	int done;
	int status;
	nfsstat3 nfs_status;
	stable_how committed;
	char verf[NFS3_WRITEVERFSIZE];
};

static void write_cb(struct rpc_context *rpc, int status, void *data, void *private_data)
{
	(void)rpc;
	struct pending *p = private_data;
	p->done = 1;
	p->status = status;
	if (status != RPC_STATUS_SUCCESS) return;
	WRITE3res *res = data;
	p->nfs_status = res->status;
	if (res->status == NFS3_OK) {
		p->committed = res->WRITE3res_u.resok.committed;
		memcpy(p->verf, res->WRITE3res_u.resok.verf, NFS3_WRITEVERFSIZE);
	}
}

static void commit_cb(struct rpc_context *rpc, int status, void *data, void *private_data)
{
	(void)rpc;
	struct pending *p = private_data;
	p->done = 1;
	p->status = status;
	if (status != RPC_STATUS_SUCCESS) return;
	COMMIT3res *res = data;
	p->nfs_status = res->status;
	if (res->status == NFS3_OK) memcpy(p->verf, res->COMMIT3res_u.resok.verf, NFS3_WRITEVERFSIZE);
}

static void wait_for(struct rpc_context *rpc, struct pending *p, const char *step)
{
	while (!p->done) {
		struct pollfd pfd = {rpc_get_fd(rpc), (short)rpc_which_events(rpc), 0};
		CHECK(step, poll(&pfd, 1, 10000) > 0, "timed out");
		CHECK(step, rpc_service(rpc, pfd.revents) >= 0, "%s", rpc_get_error(rpc));
	}
	CHECK(step, p->status == RPC_STATUS_SUCCESS && p->nfs_status == NFS3_OK, "rpc %d nfs %d", p->status,
	      (int)p->nfs_status);
}

static void hex(const char *label, const char *v)
{
	printf("%s ", label);
	for (int i = 0; i < NFS3_WRITEVERFSIZE; i++) printf("%02x", (unsigned char)v[i]);
	printf("\n");
}

static int cmd_unstable(const char *file, uint64_t bytes)
{
	struct nfs_context *nfs = connect_export();
	struct nfsfh *fh;
	CHECK("create", nfs_creat(nfs, file, 0644, &fh) == 0, "%s", nfs_get_error(nfs));
	struct rpc_context *rpc = nfs_get_rpc_context(nfs);
	struct nfs_fh *raw = nfs_get_fh(fh);
	const uint64_t chunk = 64 * 1024;
	char *buf = malloc(chunk);
	char first[NFS3_WRITEVERFSIZE];
	int unstable = 0;
	for (uint64_t off = 0; off < bytes; off += chunk) {
		uint64_t n = bytes - off < chunk ? bytes - off : chunk;
		fill(buf, off, n);
		WRITE3args args;
		memset(&args, 0, sizeof args);
		args.file.data.data_len = (u_int)raw->len;
		args.file.data.data_val = raw->val;
		args.offset = off;
		args.count = (count3)n;
		args.stable = UNSTABLE;
		args.data.data_len = (u_int)n;
		args.data.data_val = buf;
		struct pending p = {0};
		CHECK("write", rpc_nfs3_write_async(rpc, write_cb, &args, &p) == 0, "%s", rpc_get_error(rpc));
		wait_for(rpc, &p, "write");
		if (p.committed == UNSTABLE) unstable++;
		if (off == 0) memcpy(first, p.verf, NFS3_WRITEVERFSIZE);
		CHECK("write-verf", memcmp(first, p.verf, NFS3_WRITEVERFSIZE) == 0, "verifier changed mid-stream");
	}
	printf("unstable %d\n", unstable);
	hex("write-verf", first);
	COMMIT3args cargs;
	memset(&cargs, 0, sizeof cargs);
	cargs.file.data.data_len = (u_int)raw->len;
	cargs.file.data.data_val = raw->val;
	struct pending c = {0};
	CHECK("commit", rpc_nfs3_commit_async(rpc, commit_cb, &cargs, &c) == 0, "%s", rpc_get_error(rpc));
	wait_for(rpc, &c, "commit");
	hex("commit-verf", c.verf);
	free(buf);
	nfs_close(nfs, fh);
	nfs_destroy_context(nfs);
	return 0;
}

static int cmd_files(const char *dir, long n)
{
	struct nfs_context *nfs = connect_export();
	char block[4096], path[512];
	memset(block, 'f', sizeof block);
	CHECK("mkdir", nfs_mkdir(nfs, dir) == 0, "%s", nfs_get_error(nfs));
	double start = now_seconds();
	for (long i = 0; i < n; i++) {
		struct nfsfh *fh;
		snprintf(path, sizeof path, "%s/f%ld", dir, i);
		CHECK("create", nfs_creat(nfs, path, 0644, &fh) == 0, "%s", nfs_get_error(nfs));
		write_all(nfs, fh, 0, block, sizeof block, "write");
		CHECK("close", nfs_close(nfs, fh) == 0, "%s", nfs_get_error(nfs));
	}
	double seconds = now_seconds() - start;
	printf("files %ld\nseconds %.3f\nfiles_per_sec %.1f\n", n, seconds, (double)n / seconds);
	nfs_destroy_context(nfs);
	return 0;
}

struct getattr_run {
	double start, until; /* calls sent in between are counted */
	long count;
	double *lat; /* microseconds */
	long cap;
};

/* One session of a getattr loop: its connection and the call it has outstanding. */
struct getattr_session {
	struct nfs_context *nfs;
	struct nfsfh *fh;
	struct rpc_context *rpc;
	GETATTR3args args;
	struct pending p;
	double t0;
	int busy;
	struct getattr_run *run;
};

/* The sessions one client thread drives (like wrk's connections per thread). */
struct getattr_loop {
	const char *file;
	int n;
	struct getattr_run *runs;
};

static void getattr_cb(struct rpc_context *rpc, int status, void *data, void *private_data)
{
	(void)rpc;
	struct pending *p = private_data;
	p->done = 1;
	p->status = status;
	if (status == RPC_STATUS_SUCCESS) p->nfs_status = ((GETATTR3res *)data)->status;
}

static void getattr_send(struct getattr_session *s)
{
	memset(&s->p, 0, sizeof s->p);
	s->t0 = now_seconds();
	CHECK("getattr", rpc_nfs3_getattr_async(s->rpc, getattr_cb, &s->args, &s->p) == 0, "%s",
	      rpc_get_error(s->rpc));
	s->busy = 1;
}

/*
 * Each session keeps one GETATTR outstanding, sending the next as its reply arrives; one
 * thread serves all its sessions from one poll(), so a latency is the server's answer plus
 * this loop's turn, not a client thread waiting for a core.
 */
static void *getattr_main(void *arg)
{
	struct getattr_loop *L = arg;
	struct getattr_session s[64];
	struct pollfd pfd[64];
	for (int i = 0; i < L->n; i++) {
		s[i] = (struct getattr_session){.nfs = connect_export(), .run = &L->runs[i]};
		CHECK("open", nfs_open(s[i].nfs, L->file, O_RDONLY, &s[i].fh) == 0, "%s", nfs_get_error(s[i].nfs));
		s[i].rpc = nfs_get_rpc_context(s[i].nfs);
		struct nfs_fh *raw = nfs_get_fh(s[i].fh);
		s[i].args.object.data.data_len = (u_int)raw->len;
		s[i].args.object.data.data_val = raw->val;
	}
	double until = L->runs[0].until;
	for (;;) {
		int open = 0;
		double now = now_seconds();
		for (int i = 0; i < L->n; i++) {
			struct getattr_session *x = &s[i];
			if (!x->busy && now < until && x->run->count < x->run->cap) getattr_send(x);
			open += x->busy;
			pfd[i] = (struct pollfd){rpc_get_fd(x->rpc), (short)rpc_which_events(x->rpc), 0};
		}
		if (open == 0) break;
		CHECK("getattr", poll(pfd, (nfds_t)L->n, 10000) > 0, "timed out");
		for (int i = 0; i < L->n; i++) {
			struct getattr_session *x = &s[i];
			if (!pfd[i].revents) continue;
			CHECK("getattr", rpc_service(x->rpc, pfd[i].revents) >= 0, "%s", rpc_get_error(x->rpc));
			if (!x->busy || !x->p.done) continue;
			x->busy = 0;
			CHECK("getattr", x->p.status == RPC_STATUS_SUCCESS && x->p.nfs_status == NFS3_OK, "rpc %d nfs %d",
			      x->p.status, (int)x->p.nfs_status);
			if (x->t0 >= x->run->start && x->t0 < until) x->run->lat[x->run->count++] = (now_seconds() - x->t0) * 1e6;
		}
	}
	for (int i = 0; i < L->n; i++) {
		nfs_close(s[i].nfs, s[i].fh);
		nfs_destroy_context(s[i].nfs);
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmd_getattr(const char *file, int k, double seconds, int nthreads)
{
	CHECK("getattr", k >= 1 && k <= 64 && nthreads >= 1 && nthreads <= k, "1 <= threads <= sessions <= 64");
	pthread_t threads[64];
	struct getattr_loop loops[64];
	struct getattr_run runs[64];
	const long cap = 2000000;
	/* Sessions connect and warm up for a second before the counted window starts. */
	double start = now_seconds() + 1.0, until = start + seconds;
	for (int i = 0; i < k; i++) runs[i] = (struct getattr_run){start, until, 0, malloc(sizeof(double) * (size_t)cap), cap};
	/* Sessions dealt to the threads as evenly as they go (16 on 2: 8 each). */
	for (int t = 0, first = 0; t < nthreads; t++) {
		int n = k / nthreads + (t < k % nthreads);
		loops[t] = (struct getattr_loop){file, n, &runs[first]};
		first += n;
		pthread_create(&threads[t], NULL, getattr_main, &loops[t]);
	}
	long total = 0;
	for (int t = 0; t < nthreads; t++) pthread_join(threads[t], NULL);
	for (int i = 0; i < k; i++) total += runs[i].count;
	double *all = malloc(sizeof(double) * (size_t)(total > 0 ? total : 1));
	long at = 0;
	for (int i = 0; i < k; i++) {
		memcpy(all + at, runs[i].lat, sizeof(double) * (size_t)runs[i].count);
		at += runs[i].count;
		free(runs[i].lat);
	}
	CHECK("getattr", total > 0, "no calls completed");
	qsort(all, (size_t)total, sizeof(double), cmp_double);
	/* Calls sent within the window, over its length (the wall clock, gaps between calls included). */
	printf("calls %ld\nrate %.1f\np50_us %.1f\np99_us %.1f\n", total, (double)total / seconds,
	       all[total / 2], all[(long)((double)total * 0.99)]);
	free(all);
	return 0;
}

/* Metadata alone, no data and no COMMIT: MKDIR, RENAME, RMDIR of N directories, one session. */
static int cmd_dirs(const char *dir, long n)
{
	struct nfs_context *nfs = connect_export();
	char path[512], moved[512];
	CHECK("mkdir", nfs_mkdir(nfs, dir) == 0, "%s", nfs_get_error(nfs));
	double start = now_seconds();
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/d%ld", dir, i);
		snprintf(moved, sizeof moved, "%s/e%ld", dir, i);
		CHECK("mkdir", nfs_mkdir(nfs, path) == 0, "%s", nfs_get_error(nfs));
		CHECK("rename", nfs_rename(nfs, path, moved) == 0, "%s", nfs_get_error(nfs));
		CHECK("rmdir", nfs_rmdir(nfs, moved) == 0, "%s", nfs_get_error(nfs));
	}
	double seconds = now_seconds() - start;
	printf("dirs %ld\nseconds %.3f\nops_per_sec %.1f\n", n, seconds, (double)(3 * n) / seconds);
	nfs_destroy_context(nfs);
	return 0;
}

static int cmd_statvfs(const char *dir)
{
	struct nfs_context *nfs = connect_export();
	struct nfs_statvfs_64 sv;
	CHECK("statvfs", nfs_statvfs64(nfs, dir, &sv) == 0, "%s", nfs_get_error(nfs));
	printf("bsize %" PRIu64 "\nblocks %" PRIu64 "\nbfree %" PRIu64 "\nbavail %" PRIu64 "\n", sv.f_bsize,
	       sv.f_blocks, sv.f_bfree, sv.f_bavail);
	printf("files %" PRIu64 "\nffree %" PRIu64 "\nfavail %" PRIu64 "\n", sv.f_files, sv.f_ffree, sv.f_favail);
	nfs_destroy_context(nfs);
	return 0;
}

static void attempt(struct nfs_context *nfs, const char *op, int rc)
{
	if (rc == 0)
		printf("allowed %s\n", op);
	else
		printf("refused %s: %s (%s)\n", op, rc < 0 ? strerror(-rc) : "?", nfs_get_error(nfs));
}

static int cmd_tamper(const char *file)
{
	struct nfs_context *nfs = connect_export();
	struct nfsfh *fh = NULL;
	int rc = nfs_open(nfs, file, O_WRONLY, &fh);
	if (rc == 0) {
		int n = nfs_pwrite(nfs, fh, 0, 4, "XXXX");
		rc = n == 4 ? nfs_fsync(nfs, fh) : n < 0 ? n : -EIO;
		nfs_close(nfs, fh);
	}
	attempt(nfs, "write", rc);
	attempt(nfs, "truncate", nfs_truncate(nfs, file, 0));
	attempt(nfs, "chmod", nfs_chmod(nfs, file, 0666));
	struct timeval times[2] = {{1, 0}, {1, 0}};
	attempt(nfs, "utimes", nfs_utimes(nfs, file, times));
	char other[1024];
	snprintf(other, sizeof other, "%s.other", file);
	rc = nfs_creat(nfs, other, 0644, &fh);
	CHECK("create-other", rc == 0, "%s", nfs_get_error(nfs));
	nfs_close(nfs, fh);
	attempt(nfs, "replace", nfs_rename(nfs, other, file));
	nfs_unlink(nfs, other);
	attempt(nfs, "remove", nfs_unlink(nfs, file));
	nfs_destroy_context(nfs);
	return 0;
}

/* ---- one write over an existing file's start, made stable (cross-protocol recalls) ------ */

static int cmd_overwrite(const char *file, const char *text)
{
	struct nfs_context *nfs = connect_export();
	struct nfsfh *fh;
	CHECK("open", nfs_open(nfs, file, O_WRONLY, &fh) == 0, "%s", nfs_get_error(nfs));
	write_all(nfs, fh, 0, text, strlen(text), "write");
	CHECK("fsync", nfs_fsync(nfs, fh) == 0, "%s", nfs_get_error(nfs));
	nfs_close(nfs, fh);
	nfs_destroy_context(nfs);
	printf("ok overwrite\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4) {
		fprintf(stderr, "usage: %s URL ops|list|statvfs|tamper|writers|unstable|files|overwrite|dirs|getattr ARGS\n", argv[0]);
		return 2;
	}
	url_text = argv[1];
	const char *cmd = argv[2];
	if (strcmp(cmd, "ops") == 0) return cmd_ops(argv[3]);
	if (strcmp(cmd, "list") == 0) return cmd_list(argv[3], argc > 4 ? atol(argv[4]) : 1);
	if (strcmp(cmd, "statvfs") == 0) return cmd_statvfs(argv[3]);
	if (strcmp(cmd, "tamper") == 0) return cmd_tamper(argv[3]);
	if (strcmp(cmd, "writers") == 0 && argc == 6)
		return cmd_writers(argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10));
	if (strcmp(cmd, "unstable") == 0 && argc == 5) return cmd_unstable(argv[3], strtoull(argv[4], NULL, 10));
	if (strcmp(cmd, "files") == 0 && argc == 5) return cmd_files(argv[3], atol(argv[4]));
	if (strcmp(cmd, "overwrite") == 0 && argc == 5) return cmd_overwrite(argv[3], argv[4]);
	if (strcmp(cmd, "dirs") == 0 && argc == 5) return cmd_dirs(argv[3], atol(argv[4]));
	if (strcmp(cmd, "getattr") == 0 && (argc == 6 || argc == 7))
		return cmd_getattr(argv[3], atoi(argv[4]), atof(argv[5]), argc == 7 ? atoi(argv[6]) : atoi(argv[4]));
	fprintf(stderr, "unknown command %s\n", cmd);
	return 2;
}
