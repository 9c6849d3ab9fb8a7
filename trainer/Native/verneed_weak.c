/* Sets VER_FLG_WEAK on one version requirement in an ELF64 file's .gnu.version_r, so that a missing version is a
 * warning for the dynamic loader instead of a load failure. Usage: verneed_weak FILE VERSION.
 * Exit 0 when the flag is set (now or already), 3 when the file does not require VERSION, 1 on error. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: %s FILE VERSION\n", argv[0]); return 1; }
    FILE *f = fopen(argv[1], "r+b");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    unsigned char *b = malloc((size_t)size);
    fseek(f, 0, SEEK_SET);
    if (!b || fread(b, 1, (size_t)size, f) != (size_t)size) { fprintf(stderr, "read failed\n"); return 1; }
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) { fprintf(stderr, "not ELF64\n"); return 1; }
    Elf64_Shdr *sh = (Elf64_Shdr *)(b + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++)
    {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char *strtab = (const char *)(b + sh[sh[i].sh_link].sh_offset);
        unsigned char *p = b + sh[i].sh_offset;
        for (;;)
        {
            Elf64_Verneed *vn = (Elf64_Verneed *)p;
            unsigned char *q = p + vn->vn_aux;
            for (int j = 0; j < vn->vn_cnt; j++)
            {
                Elf64_Vernaux *va = (Elf64_Vernaux *)q;
                if (strcmp(strtab + va->vna_name, argv[2]) == 0)
                {
                    long at = (long)((unsigned char *)&va->vna_flags - b);
                    if (!(va->vna_flags & VER_FLG_WEAK))
                    {
                        Elf64_Half flags = va->vna_flags | VER_FLG_WEAK;
                        if (fseek(f, at, SEEK_SET) != 0 || fwrite(&flags, sizeof flags, 1, f) != 1) { fprintf(stderr, "write failed\n"); return 1; }
                    }
                    return fclose(f) == 0 ? 0 : 1;
                }
                if (!va->vna_next) break;
                q += va->vna_next;
            }
            if (!vn->vn_next) break;
            p += vn->vn_next;
        }
    }
    fclose(f);
    return 3;
}
