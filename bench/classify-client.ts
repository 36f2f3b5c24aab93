// The HTTP benches' /classify client: PNG uploads in multipart batches at one level, the open-set
// threshold off, the nearest reference's answer per image in upload order.
export interface ClassifyAnswer {
  label: string | null;
  similarity: number;
}

export async function classifyPngs(
  base: string,
  level: number,
  pngs: Buffer[],
  batch: number,
): Promise<ClassifyAnswer[]> {
  const answers: ClassifyAnswer[] = [];
  for (let i = 0; i < pngs.length; i += batch) {
    const form = new FormData();
    for (const png of pngs.slice(i, i + batch)) {
      form.append("images", new Blob([png], { type: "image/png" }), "x.png");
    }
    const res = await fetch(`${base}/classify?level=${level}&minSimilarity=-1&k=1`, {
      method: "POST",
      body: form,
    });
    if (res.status !== 200) throw new Error(`/classify: ${res.status} ${await res.text()}`);
    answers.push(...((await res.json()) as ClassifyAnswer[]));
  }
  return answers;
}
