// CPU time of the service (all threads, and its main thread alone) and of the load generator over one load phase,
// read from /proc (Linux; elsewhere undefined), so that a bench line can say where the two cores went per request.
import { readFile } from "node:fs/promises";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

/** utime + stime in seconds from a /proc stat line (fields 14 and 15, counted after the comm's ")"). */
async function statCpuSeconds(path: string): Promise<number | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (!text) return undefined;
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

interface Sample {
  at: number;
  service?: number;
  serviceMain?: number;
  loadGenerator: number;
}

async function sample(pid: number): Promise<Sample> {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    service: await statCpuSeconds(`/proc/${pid}/stat`),
    // The main thread's task id is the process id.
    serviceMain: await statCpuSeconds(`/proc/${pid}/task/${pid}/stat`),
    loadGenerator: (usage.user + usage.system) / 1e6,
  };
}

export interface CpuShare {
  /** Cores' worth of CPU each used over the phase (2 = both cores of the project box). */
  serviceCores?: number;
  serviceMainThreadCores?: number;
  loadGeneratorCores: number;
  /** CPU milliseconds per request answered. */
  serviceMsPerRequest?: number;
  serviceMainThreadMsPerRequest?: number;
  loadGeneratorMsPerRequest: number;
}

/**
 * Starts measuring the CPU of the service process `pid` and of this process (the load generator:
 * autocannon runs in it); the returned function ends the phase and divides by `requests`.
 */
export async function cpuShare(pid: number): Promise<(requests: number) => Promise<CpuShare>> {
  const start = await sample(pid);
  return async (requests) => {
    const end = await sample(pid);
    const seconds = (end.at - start.at) / 1000;
    const cores = (cpu: number) => Number((cpu / seconds).toFixed(2));
    const perRequest = (cpu: number) => Number(((cpu * 1000) / Math.max(requests, 1)).toFixed(3));
    const generator = end.loadGenerator - start.loadGenerator;
    const service =
      start.service !== undefined && end.service !== undefined
        ? end.service - start.service
        : undefined;
    const main =
      start.serviceMain !== undefined && end.serviceMain !== undefined
        ? end.serviceMain - start.serviceMain
        : undefined;
    return {
      serviceCores: service === undefined ? undefined : cores(service),
      serviceMainThreadCores: main === undefined ? undefined : cores(main),
      loadGeneratorCores: cores(generator),
      serviceMsPerRequest: service === undefined ? undefined : perRequest(service),
      serviceMainThreadMsPerRequest: main === undefined ? undefined : perRequest(main),
      loadGeneratorMsPerRequest: perRequest(generator),
    };
  };
}
