import statistics as st, glob
print("%-10s %-6s %8s %8s %8s %8s   %s" % ("variant","metric","median","mean","min","max","run medians"))
for v in ["ossl_t","ossl_nt","gnutls_t","gnutls_nt"]:
    runs=[]
    for rep in (1,2,3):
        rows=[list(map(float,l.split())) for l in open(f"raw/{v}.{rep}.txt")]
        runs.append(rows)
    for k,name in enumerate(["server","client","wall"]):
        pooled=[r[k] for run in runs for r in run]
        meds=[st.median([r[k] for r in run]) for run in runs]
        print("%-10s %-6s %8.1f %8.1f %8.1f %8.1f   %s" % (v,name,st.median(pooled),st.mean(pooled),min(pooled),max(pooled)," / ".join("%.1f"%m for m in meds)))
