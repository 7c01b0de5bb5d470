/*
 * Plain main() for fuzz targets: feeds every file named on the command line (or found in a
 * directory named there) to LLVMFuzzerTestOneInput once. `make check` links each target with
 * this under gcc ASan+UBSan and replays corpus/<target>/ and crashers/<target>/, so a crash
 * found once by `make fuzz` stays a regression test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs above this are not fuzz corpus entries; refuse rather than read a stray large file. */
#define REPLAY_INPUT_SIZE_MAX (16u * 1024u * 1024u)

static int
replay_file(const char *path, unsigned *count)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return 1;
    }
    uint8_t *buf = malloc(REPLAY_INPUT_SIZE_MAX);
    if (buf == NULL) {
        fclose(f);
        return 1;
    }
    size_t n = fread(buf, 1, REPLAY_INPUT_SIZE_MAX, f);
    fclose(f);
    /* Copy to an exact-size buffer so ASan sees reads past the end of the input. */
    uint8_t *exact = malloc(n > 0 ? n : 1);
    if (exact == NULL) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    (*count)++;
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            continue; /* an absent crashers/ directory is normal */
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i], &count) != 0) {
                return 1;
            }
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            fprintf(stderr, "replay: %s: cannot open directory\n", argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') {
                continue;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (replay_file(path, &count) != 0) {
                closedir(d);
                return 1;
            }
        }
        closedir(d);
    }
    printf("replay %s: %u inputs, no failure\n", argc > 1 ? argv[1] : "", count);
    return 0;
}
